//! One action run in a fresh QuickJS context: the CommonJS wrapper, `console`, `require`, the `api`
//! object for the trigger, driving the handler's promise, and sorting failures into [`FailureKind`]s.

use crate::record::{Current, MetadataError, MetadataKind, Recorder};
use crate::{ActionScript, FailureKind, TokenKind, Trigger, bounded};
use rquickjs::function::{Opt, Rest};
use rquickjs::prelude::Coerced;
use rquickjs::promise::PromiseState;
use rquickjs::{Context, Ctx, Exception, Function, Object, Runtime, Value as JsValue};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Failure messages (and deny reasons) are cut to this many bytes.
pub(crate) const MAX_MESSAGE: usize = 512;
/// One `setAppMetadata`/`setUserMetadata` value, as JSON, at most.
const MAX_METADATA_VALUE: usize = 64 * 1024;
/// How much longer than the CPU-time limit the wall clock may run (a backstop: nothing in the sandbox can
/// block, so CPU time is what an action spends).
pub(crate) const WALL_FACTOR: u32 = 10;

/// Node's CommonJS wrapper, as a function *declaration* after a `throw`, all on the code's first line so
/// error line numbers match the source. Evaluating the script compiles it, hoists the declaration (creating
/// the function runs nothing) and stops at the `throw` before any statement runs: code that closes the
/// wrapper early (`}); for(;;){} (function(){`) never runs, neither in `check` nor in a run. Whether the
/// code stayed inside is then read from the hoisted function's own source text ([`compile`]).
///
/// (QuickJS's `Function` constructor cannot be used for this: it pastes the body between `{` and `}` and
/// evaluates the text, so `Function("}); …; (function(){")` runs the middle part — a gap QuickJS's own
/// source notes next to its `Function` constructor.)
const WRAP_NAME: &str = "__tesseraAction";
const WRAP_STOP: &str = "__tesseraCompiled";
const WRAP_HEAD: &str = "throw \"__tesseraCompiled\"; function __tesseraAction(exports, require, module, __filename, __dirname) {";
const WRAP_TAIL: &str = "\n}";
/// Where the function's source text starts in the script (after the `throw` statement).
const WRAP_FN_START: usize = "throw \"__tesseraCompiled\"; ".len();

/// The `api` objects, built in JS around native recorders the action cannot reach (closure variable `n`);
/// methods return `api` so calls chain, as on Auth0.
const POST_LOGIN_API: &str = r#"(function (n) {
  "use strict";
  const api = {};
  api.idToken = { setCustomClaim(name, value) { n.claim(0, name, value); return api; } };
  api.accessToken = {
    setCustomClaim(name, value) { n.claim(1, name, value); return api; },
    addScope(scope) { n.scope(true, scope); return api; },
    removeScope(scope) { n.scope(false, scope); return api; },
  };
  api.access = { deny(reason) { n.deny(undefined, reason); return api; } };
  api.user = {
    setAppMetadata(name, value) { n.meta(0, name, value); return api; },
    setUserMetadata(name, value) { n.meta(1, name, value); return api; },
  };
  return api;
})"#;

const CREDENTIALS_EXCHANGE_API: &str = r#"(function (n) {
  "use strict";
  const api = {};
  api.accessToken = { setCustomClaim(name, value) { n.claim(1, name, value); return api; } };
  api.access = { deny(code, reason) { n.deny(code, reason); return api; } };
  return api;
})"#;

/// Auth0's allowed `api.access.deny(code, …)` codes for credentials-exchange; any other is sent as
/// `invalid_request`.
const CREDENTIALS_EXCHANGE_CODES: &[&str] = &["invalid_scope", "invalid_request", "server_error"];

pub(crate) fn wrap(code: &str) -> String {
    let mut s = String::with_capacity(WRAP_HEAD.len() + code.len() + WRAP_TAIL.len());
    s.push_str(WRAP_HEAD);
    s.push_str(code);
    s.push_str(WRAP_TAIL);
    s
}

/// Why [`compile`] refused the code.
pub(crate) enum CompileError {
    /// A `SyntaxError` (or another error QuickJS raised while compiling), left pending on the context.
    Thrown(rquickjs::Error),
    /// The code closes the CommonJS wrapper early: it is not a function body.
    Escapes,
}

/// Compiles `code` in the wrapper without running any of it (see [`WRAP_HEAD`]) and returns the wrapper
/// function, taken out of the globals again. Only the construction: nothing of the code runs.
pub(crate) fn compile<'js>(ctx: &Ctx<'js>, code: &str) -> Result<Function<'js>, CompileError> {
    let script = wrap(code);
    let mut options = rquickjs::context::EvalOptions::default();
    options.strict = false;
    options.global = true;
    options.filename = Some("action.js".to_owned());
    match ctx.eval_with_options::<JsValue, _>(script.as_str(), options) {
        // The script always ends at its first statement, the throw.
        Ok(_) => return Err(CompileError::Escapes),
        Err(rquickjs::Error::Exception) => {
            let thrown = ctx.catch();
            let stopped = thrown
                .as_string()
                .and_then(|s| s.to_string().ok())
                .is_some_and(|s| s == WRAP_STOP);
            if !stopped {
                // A SyntaxError, or an error of the global declarations of code outside the wrapper.
                let _ = ctx.throw(thrown);
                return Err(CompileError::Thrown(rquickjs::Error::Exception));
            }
        }
        Err(e) => return Err(CompileError::Thrown(e)),
    }
    let globals = ctx.globals();
    let wrapper: Option<Function> = globals.get(WRAP_NAME).ok().flatten();
    // A global function declaration is not deletable: its binding is emptied instead.
    if globals.remove(WRAP_NAME).is_err() || globals.contains_key(WRAP_NAME).unwrap_or(true) {
        let _ = globals.set(WRAP_NAME, rquickjs::Undefined);
    }
    let Some(wrapper) = wrapper else {
        return Err(CompileError::Escapes);
    };
    // Code that closed the wrapper and declared its own `__tesseraAction` gets a function whose source is a
    // shorter, later slice of the script: the text must be exactly ours, from `function` to the end.
    // Nothing of the code ran, so `toString` is still `Function.prototype.toString`.
    let to_string: Option<Function> = wrapper.get("toString").ok();
    let source: Option<String> = to_string.and_then(|f| {
        f.call::<_, String>((rquickjs::function::This(wrapper.clone()),))
            .ok()
    });
    if source.as_deref() != script.get(WRAP_FN_START..) {
        let _ = ctx.catch();
        return Err(CompileError::Escapes);
    }
    Ok(wrapper)
}

/// The message for code that closes the wrapper early.
pub(crate) const ESCAPES: &str = "SyntaxError: the code closes the CommonJS module wrapper (unbalanced `}`): it must be a module body";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fired {
    Timeout,
    Cancelled,
}

/// The interrupt handler's view of the action now running: when it started (thread CPU time and wall
/// clock), its limit, and the caller's cancellation flag.
#[derive(Default)]
pub(crate) struct Watch {
    state: Mutex<WatchState>,
}

#[derive(Default)]
struct WatchState {
    armed: Option<Armed>,
    fired: Option<Fired>,
}

struct Armed {
    cpu_start: Option<Duration>,
    wall_start: Instant,
    limit: Duration,
    cancel: Arc<AtomicBool>,
}

fn thread_cpu() -> Option<Duration> {
    cpu_time::ThreadTime::try_now()
        .ok()
        .map(|t| t.as_duration())
}

impl Watch {
    pub(crate) fn arm(&self, limit: Duration, cancel: Arc<AtomicBool>) {
        if let Ok(mut s) = self.state.lock() {
            s.fired = None;
            s.armed = Some(Armed {
                cpu_start: thread_cpu(),
                wall_start: Instant::now(),
                limit,
                cancel,
            });
        }
    }

    pub(crate) fn disarm(&self) {
        if let Ok(mut s) = self.state.lock() {
            s.armed = None;
            s.fired = None;
        }
    }

    pub(crate) fn fired(&self) -> Option<Fired> {
        self.state
            .lock()
            .map_or(Some(Fired::Cancelled), |s| s.fired)
    }

    /// Called by QuickJS every few thousand instructions, on the worker thread: true stops the script
    /// with an uncatchable error. Once fired it stays fired until disarmed.
    pub(crate) fn should_interrupt(&self) -> bool {
        let Ok(mut s) = self.state.lock() else {
            return true;
        };
        if s.fired.is_some() {
            return true;
        }
        let Some(a) = &s.armed else { return false };
        let fired = if a.cancel.load(Ordering::Relaxed) {
            Some(Fired::Cancelled)
        } else {
            let wall = a.wall_start.elapsed();
            let over = match (a.cpu_start, thread_cpu()) {
                (Some(start), Some(now)) => {
                    now.saturating_sub(start) > a.limit
                        || wall > a.limit.saturating_mul(WALL_FACTOR)
                }
                _ => wall > a.limit,
            };
            over.then_some(Fired::Timeout)
        };
        s.fired = fired;
        fired.is_some()
    }
}

/// What one action run needs besides the runtime.
pub(crate) struct RunInput<'a> {
    pub(crate) trigger: Trigger,
    pub(crate) action: &'a ActionScript,
    /// The event as JSON, without `secrets` (set here from the action's own).
    pub(crate) event_json: &'a str,
    pub(crate) recorder: Rc<RefCell<Recorder>>,
    pub(crate) watch: Arc<Watch>,
}

pub(crate) type Failure = (FailureKind, String);

/// Runs one action in `fresh`, a context of the worker's runtime that no code has run in yet (made ahead
/// of time, off the request's path), or in a new one. The caller arms and disarms the watch.
pub(crate) fn run_action(
    rt: &Runtime,
    fresh: Option<Context>,
    input: &RunInput<'_>,
) -> Result<(), Failure> {
    let context = match fresh {
        Some(context) => context,
        None => Context::full(rt).map_err(|_| {
            (
                FailureKind::MemoryLimit,
                "could not create a JavaScript context".to_owned(),
            )
        })?,
    };
    let result = context.with(|ctx| run_in(&ctx, input));
    drop(context);
    result.map_err(|(kind, message)| (kind, mask(&message, &input.action.secrets)))
}

/// Replaces each secret value (4 bytes or longer) in `message` and bounds it.
pub(crate) fn mask(message: &str, secrets: &[(String, String)]) -> String {
    let mut out = message.to_owned();
    for (_, value) in secrets {
        if value.len() >= 4 && out.contains(value.as_str()) {
            out = out.replace(value.as_str(), "[secret]");
        }
    }
    bounded(&out, MAX_MESSAGE)
}

fn run_in<'js>(ctx: &Ctx<'js>, input: &RunInput<'_>) -> Result<(), Failure> {
    let fail = |e: rquickjs::Error| failure(ctx, &input.watch, e);
    let globals = ctx.globals();
    // Its callbacks are queued by the GC, at any later time: they could run during another action's run.
    globals.remove("FinalizationRegistry").map_err(fail)?;
    let prepared = take_prepared(&globals).map_err(fail)?;
    globals
        .set(
            "console",
            console(ctx, &input.recorder, &input.watch).map_err(fail)?,
        )
        .map_err(fail)?;

    let event: JsValue = ctx.json_parse(input.event_json).map_err(fail)?;
    let event_obj = event.as_object().ok_or_else(|| {
        (
            FailureKind::Internal,
            "the event is not an object".to_owned(),
        )
    })?;
    let secrets = Object::new(ctx.clone()).map_err(fail)?;
    for (name, value) in &input.action.secrets {
        secrets.set(name.as_str(), value.as_str()).map_err(fail)?;
    }
    event_obj.set("secrets", secrets).map_err(fail)?;

    let api = api(ctx, input, prepared).map_err(fail)?;
    let require = Function::new(ctx.clone(), |ctx: Ctx<'js>, name: Opt<Coerced<String>>| -> rquickjs::Result<()> {
        let name = name.0.map(|n| bounded(&n.0, 100)).unwrap_or_default();
        Err(Exception::throw_message(
            &ctx,
            &format!("Cannot find module '{name}': require is not available in this sandbox (no module is allowed)"),
        ))
    })
    .map_err(fail)?;

    // Sloppy-mode script, as Node runs CommonJS; compiled as `check` compiles it.
    let wrapper = match compile(ctx, &input.action.code) {
        Ok(wrapper) => wrapper,
        Err(CompileError::Thrown(e)) => return Err(fail(e)),
        Err(CompileError::Escapes) => {
            if let Some(fired) = input.watch.fired() {
                return Err(fired_failure(fired));
            }
            return Err((FailureKind::Exception, ESCAPES.to_owned()));
        }
    };
    let exports = Object::new(ctx.clone()).map_err(fail)?;
    let module = Object::new(ctx.clone()).map_err(fail)?;
    module.set("exports", exports.clone()).map_err(fail)?;
    let () = wrapper
        .call((exports, require, module.clone(), "action.js", "/"))
        .map(|_: JsValue| ())
        .map_err(fail)?;

    let exported: JsValue = module.get("exports").map_err(fail)?;
    let handler = match exported.as_object() {
        Some(obj) => obj
            .get::<_, JsValue>(input.trigger.handler_name())
            .map_err(fail)?,
        None => JsValue::new_undefined(ctx.clone()),
    };
    let Some(handler) = handler.as_function() else {
        return Err((
            FailureKind::NoHandler,
            format!(
                "the code exports no function named {}",
                input.trigger.handler_name()
            ),
        ));
    };
    let returned: JsValue = handler.call((event, api)).map_err(fail)?;

    // Drain the job queue as Node drains microtasks; an endless chain runs into the time limit.
    while ctx.execute_pending_job() {
        if input.watch.fired().is_some() {
            break;
        }
    }
    if let Some(fired) = input.watch.fired() {
        return Err(fired_failure(fired));
    }
    if let Some(promise) = returned.as_promise() {
        match promise.state() {
            PromiseState::Pending => {
                return Err((
                    FailureKind::NeverSettled,
                    "the handler's promise never settled (no job left to run)".to_owned(),
                ));
            }
            PromiseState::Rejected => {
                let result = promise.result::<JsValue>();
                if let Some(Err(e)) = result {
                    return Err(fail(e));
                }
            }
            PromiseState::Resolved => {}
        }
    }
    Ok(())
}

fn fired_failure(fired: Fired) -> Failure {
    match fired {
        Fired::Timeout => (
            FailureKind::Timeout,
            "the action ran over its time limit".to_owned(),
        ),
        Fired::Cancelled => (FailureKind::Internal, "the run was cancelled".to_owned()),
    }
}

/// Sorts a failed call into a kind, from the watch and the thrown value.
fn failure(ctx: &Ctx<'_>, watch: &Watch, error: rquickjs::Error) -> Failure {
    if let Some(fired) = watch.fired() {
        let _ = ctx.catch();
        return fired_failure(fired);
    }
    match error {
        rquickjs::Error::Exception => {
            let thrown = ctx.catch();
            // Describing a thrown non-Error calls its `toString`, which is action code again.
            let described = describe(&thrown);
            match watch.fired() {
                Some(fired) => {
                    let _ = ctx.catch();
                    fired_failure(fired)
                }
                None => described,
            }
        }
        rquickjs::Error::Allocation => (FailureKind::MemoryLimit, "out of memory".to_owned()),
        other => (
            FailureKind::Internal,
            bounded(&other.to_string(), MAX_MESSAGE),
        ),
    }
}

/// `name: message` of a thrown value, and whether it is QuickJS's out-of-memory or stack-overflow error.
fn describe(thrown: &JsValue<'_>) -> Failure {
    if let Some(exception) = thrown.as_exception() {
        let name: String = exception
            .get::<_, String>("name")
            .unwrap_or_else(|_| "Error".to_owned());
        let message = exception.message().unwrap_or_default();
        // An InternalError with no message: QuickJS ran out of memory making the message itself.
        let kind = if message.contains("out of memory")
            || (name == "InternalError" && message.is_empty())
        {
            FailureKind::MemoryLimit
        } else if (name == "RangeError" || name == "InternalError") && message.contains("stack") {
            FailureKind::StackOverflow
        } else {
            FailureKind::Exception
        };
        return (kind, bounded(&format!("{name}: {message}"), MAX_MESSAGE));
    }
    if thrown.is_null() {
        // QuickJS throws `null` when it runs out of memory while making the "out of memory" error itself
        // (JS_ThrowError2). An action's own `throw null` is read the same way: rare, and it fails either way.
        return (
            FailureKind::MemoryLimit,
            "out of memory (or `throw null`)".to_owned(),
        );
    }
    let text = if thrown.is_undefined() {
        Some("undefined".to_owned())
    } else {
        Coerced::<String>::from_js(&thrown.ctx().clone(), thrown.clone())
            .ok()
            .map(|c| c.0)
    };
    let message = text.map_or_else(
        || "uncaught exception".to_owned(),
        |t| format!("Uncaught {t}"),
    );
    (FailureKind::Exception, bounded(&message, MAX_MESSAGE))
}

use rquickjs::FromJs;

/// JSON text of a value as `JSON.stringify` gives it (own enumerable properties, `toJSON`), or `None` if
/// it has none (undefined, a function, a symbol) or stringifying threw (a cycle, a BigInt). A timeout or
/// an out-of-memory error during it is passed on.
fn to_json<'js>(
    ctx: &Ctx<'js>,
    watch: &Watch,
    value: JsValue<'js>,
) -> rquickjs::Result<Option<String>> {
    match ctx.json_stringify(value) {
        Ok(Some(s)) => s.to_string().map(Some),
        Ok(None) => Ok(None),
        Err(rquickjs::Error::Exception) => {
            let thrown = ctx.catch();
            rethrow_if_stopped(ctx, watch, thrown).map(|()| None)
        }
        Err(e) => Err(e),
    }
}

/// Throws once the watch fired: a native function never does work for a run that is over its time.
fn stopped(ctx: &Ctx<'_>, watch: &Watch) -> rquickjs::Result<()> {
    if watch.fired().is_some() {
        return Err(ctx.throw(interrupted(ctx)));
    }
    Ok(())
}

fn coerce_name(name: Opt<Coerced<String>>) -> String {
    name.0
        .map(|n| n.0)
        .unwrap_or_else(|| "undefined".to_owned())
}

/// The native recorders behind the `api` object, and the `api` object itself.
fn api<'js>(
    ctx: &Ctx<'js>,
    input: &RunInput<'_>,
    prepared: Prepared<'js>,
) -> rquickjs::Result<Object<'js>> {
    let native = Object::new(ctx.clone())?;

    let (rec, watch) = (Current::new(&input.recorder), input.watch.clone());
    let claim = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>,
              token: i32,
              name: Opt<Coerced<String>>,
              value: Opt<JsValue<'js>>|
              -> rquickjs::Result<()> {
            stopped(&ctx, &watch)?;
            let token = if token == 0 {
                TokenKind::Id
            } else {
                TokenKind::Access
            };
            let name = coerce_name(name);
            let value = value
                .0
                .unwrap_or_else(|| JsValue::new_undefined(ctx.clone()));
            let json = to_json(&ctx, &watch, value)?;
            if let Some(mut r) = rec.get() {
                r.set_claim(token, &name, json.as_deref());
            }
            Ok(())
        },
    )?;
    native.set("claim", claim)?;

    let (rec, watch) = (Current::new(&input.recorder), input.watch.clone());
    let scope = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, add: bool, scope: Opt<Coerced<String>>| -> rquickjs::Result<()> {
            stopped(&ctx, &watch)?;
            if let Some(scope) = scope.0 {
                if let Some(mut r) = rec.get() {
                    r.scope(&scope.0, add);
                }
            }
            Ok(())
        },
    )?;
    native.set("scope", scope)?;

    let (rec, trigger, watch) = (
        Current::new(&input.recorder),
        input.trigger,
        input.watch.clone(),
    );
    let deny = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>,
              code: Opt<Coerced<String>>,
              reason: Opt<JsValue<'js>>|
              -> rquickjs::Result<()> {
            stopped(&ctx, &watch)?;
            let reason = match reason.0 {
                Some(v) if !v.is_undefined() && !v.is_null() => {
                    Coerced::<String>::from_js(&ctx, v)?.0
                }
                _ => String::new(),
            };
            let code = match trigger {
                Trigger::PostLogin => None,
                Trigger::CredentialsExchange => {
                    let code = code.0.map(|c| c.0).unwrap_or_default();
                    let code = if CREDENTIALS_EXCHANGE_CODES.contains(&code.as_str()) {
                        code
                    } else {
                        "invalid_request".to_owned()
                    };
                    Some(code)
                }
            };
            if let Some(mut r) = rec.get() {
                r.deny(code, bounded(&reason, MAX_MESSAGE));
            }
            Ok(())
        },
    )?;
    native.set("deny", deny)?;

    if input.trigger == Trigger::PostLogin {
        let (rec, watch) = (Current::new(&input.recorder), input.watch.clone());
        let meta = Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>,
                  kind: i32,
                  name: Opt<Coerced<String>>,
                  value: Opt<JsValue<'js>>|
                  -> rquickjs::Result<()> {
                stopped(&ctx, &watch)?;
                let kind = if kind == 0 {
                    MetadataKind::App
                } else {
                    MetadataKind::User
                };
                let name = coerce_name(name);
                let value = value
                    .0
                    .unwrap_or_else(|| JsValue::new_undefined(ctx.clone()));
                let json = match to_json(&ctx, &watch, value)? {
                    // undefined deletes the key, as null does.
                    None => "null".to_owned(),
                    Some(json) if json.len() > MAX_METADATA_VALUE => {
                        return Err(Exception::throw_range(&ctx, "metadata value too large"));
                    }
                    Some(json) => json,
                };
                let Some(mut r) = rec.get() else {
                    return Ok(());
                };
                match r.set_metadata(kind, &name, &json) {
                    Ok(()) => Ok(()),
                    Err(MetadataError::BadName) => Err(Exception::throw_type(
                        &ctx,
                        "metadata key names must not be empty, contain '.' or start with '$'",
                    )),
                    Err(MetadataError::TooManyKeys) => Err(Exception::throw_range(
                        &ctx,
                        "too many metadata keys in this login (at most 50 per metadata object)",
                    )),
                    Err(MetadataError::TooLarge) => Err(Exception::throw_range(
                        &ctx,
                        "metadata too large for this login (at most 16 KiB of JSON per metadata object)",
                    )),
                }
            },
        )?;
        native.set("meta", meta)?;
    }

    let (source, prepared) = match input.trigger {
        Trigger::PostLogin => (POST_LOGIN_API, prepared.post_login),
        Trigger::CredentialsExchange => (CREDENTIALS_EXCHANGE_API, prepared.credentials_exchange),
    };
    let build: Function = match prepared {
        Some(build) => build,
        None => ctx.eval(source)?,
    };
    build.call((native,))
}

/// Global names under which a spare context keeps the compiled `api` builders until its run takes them.
const PREPARED: [&str; 2] = ["__tesseraPostLoginApi", "__tesseraCredentialsExchangeApi"];

/// The `api` builders a spare context compiled ahead of time.
#[derive(Default)]
struct Prepared<'js> {
    post_login: Option<Function<'js>>,
    credentials_exchange: Option<Function<'js>>,
}

/// Takes the prepared builders out of the globals, before any action code runs, so the code never sees them.
fn take_prepared<'js>(globals: &Object<'js>) -> rquickjs::Result<Prepared<'js>> {
    let [post_login, credentials_exchange] = PREPARED;
    let prepared = Prepared {
        post_login: globals.get::<_, Option<Function>>(post_login)?,
        credentials_exchange: globals.get::<_, Option<Function>>(credentials_exchange)?,
    };
    for name in PREPARED {
        globals.remove(name)?;
    }
    Ok(prepared)
}

/// A new context with both `api` builders compiled (about a third of a warm run's cost, paid here while
/// the worker is idle). Nothing else is put in it: console, require, event and secrets are per run.
pub(crate) fn spare_context(rt: &Runtime) -> Option<Context> {
    let context = Context::full(rt).ok()?;
    let ok = context.with(|ctx| -> rquickjs::Result<()> {
        let globals = ctx.globals();
        for (name, source) in PREPARED
            .into_iter()
            .zip([POST_LOGIN_API, CREDENTIALS_EXCHANGE_API])
        {
            let build: Function = ctx.eval(source)?;
            globals.set(name, build)?;
        }
        Ok(())
    });
    ok.ok().map(|()| context)
}

/// `console.log/info/warn/error/debug/trace/dir`: each call one line of the action's log (strings as they are,
/// other values as JSON, else `String(value)`), bounded by `Limits::log_bytes`. Once the watch fired (time
/// limit, cancellation) the interrupt error is thrown on, never swallowed.
fn console<'js>(
    ctx: &Ctx<'js>,
    recorder: &Rc<RefCell<Recorder>>,
    watch: &Arc<Watch>,
) -> rquickjs::Result<Object<'js>> {
    let console = Object::new(ctx.clone())?;
    for method in ["log", "info", "warn", "error", "debug", "trace", "dir"] {
        let (rec, watch) = (Current::new(recorder), watch.clone());
        let f = Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, args: Rest<JsValue<'js>>| -> rquickjs::Result<()> {
                if watch.fired().is_some() {
                    return Err(ctx.throw(interrupted(&ctx)));
                }
                if rec.get().is_none_or(|r| r.log_truncated) {
                    return Ok(());
                }
                let mut line = String::new();
                for (i, arg) in args.0.into_iter().enumerate() {
                    if i > 0 {
                        line.push(' ');
                    }
                    line.push_str(&format_arg(&ctx, &watch, arg)?);
                    if line.len() > 64 * 1024 {
                        break;
                    }
                }
                if let Some(mut r) = rec.get() {
                    r.log_line(&line);
                }
                Ok(())
            },
        )?;
        console.set(method, f)?;
    }
    Ok(console)
}

/// The error to throw once the watch fired and QuickJS's own interrupt error is not at hand.
fn interrupted<'js>(ctx: &Ctx<'js>) -> JsValue<'js> {
    Exception::from_message(ctx.clone(), "interrupted")
        .map(|e| e.into_value())
        .unwrap_or_else(|_| JsValue::new_null(ctx.clone()))
}

/// Passes on `thrown` (the caught value of a failed call) if the watch fired or it is QuickJS's out of
/// memory error; otherwise it is dropped.
fn rethrow_if_stopped<'js>(
    ctx: &Ctx<'js>,
    watch: &Watch,
    thrown: JsValue<'js>,
) -> rquickjs::Result<()> {
    let oom = thrown
        .as_exception()
        .and_then(Exception::message)
        .is_some_and(|m| m.contains("out of memory"));
    if watch.fired().is_some() || oom {
        return Err(ctx.throw(thrown));
    }
    Ok(())
}

fn format_arg<'js>(ctx: &Ctx<'js>, watch: &Watch, arg: JsValue<'js>) -> rquickjs::Result<String> {
    if let Some(s) = arg.as_string() {
        return Ok(s.to_string().unwrap_or_default());
    }
    if arg.is_object() && !arg.is_function() && !arg.is_error() {
        match ctx.json_stringify(arg.clone()) {
            Ok(Some(json)) => return Ok(json.to_string().unwrap_or_default()),
            Ok(None) => {}
            Err(_) => {
                let thrown = ctx.catch();
                rethrow_if_stopped(ctx, watch, thrown)?;
            }
        }
    }
    match Coerced::<String>::from_js(ctx, arg) {
        Ok(s) => Ok(s.0),
        Err(_) => {
            let thrown = ctx.catch();
            rethrow_if_stopped(ctx, watch, thrown)?;
            Ok("[value]".to_owned())
        }
    }
}
