//! The syntax check behind Auth0's `status: built` / `failed`.

use crate::bounded;
use crate::sandbox::{MAX_MESSAGE, Watch, wrap};
use rquickjs::{Context, Runtime};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// Compiles `code` as the engine runs it (Node's CommonJS wrapper, sloppy mode) without running it.
/// `Err` is the compile error (`SyntaxError: … at action.js:line`), bounded, safe to show: it names the
/// code's own text only.
///
/// Evaluating the wrapper only creates the function; code that closes the wrapper early (`}); …`) would
/// run its top level here, so the check runs in a throwaway runtime with nothing exposed, 8 MiB and
/// 100 ms, and only a `SyntaxError` counts as a failure.
pub fn check(code: &str) -> Result<(), String> {
    let rt = Runtime::new().map_err(|_| "the syntax check could not start".to_owned())?;
    rt.set_memory_limit(8 * 1024 * 1024);
    rt.set_max_stack_size(256 * 1024);
    let watch = Arc::new(Watch::default());
    let w = watch.clone();
    rt.set_interrupt_handler(Some(Box::new(move || w.should_interrupt())));
    let context = Context::full(&rt).map_err(|_| "the syntax check could not start".to_owned())?;
    watch.arm(Duration::from_millis(100), Arc::new(AtomicBool::new(false)));
    let result = context.with(|ctx| {
        let mut options = rquickjs::context::EvalOptions::default();
        options.strict = false;
        options.global = true;
        options.filename = Some("action.js".to_owned());
        match ctx.eval_with_options::<rquickjs::Value, _>(wrap(code), options) {
            Ok(_) => Ok(()),
            Err(rquickjs::Error::Exception) => {
                let thrown = ctx.catch();
                let Some(exception) = thrown.as_exception() else {
                    return Ok(());
                };
                let name: String = exception.get("name").unwrap_or_default();
                if name != "SyntaxError" {
                    return Ok(());
                }
                let message = exception.message().unwrap_or_default();
                let line = exception
                    .stack()
                    .and_then(|s| {
                        s.lines()
                            .find_map(|l| l.split("action.js:").nth(1).map(str::to_owned))
                    })
                    .map(|at| format!(" (action.js:{})", at.trim_end_matches(')')))
                    .unwrap_or_default();
                Err(bounded(
                    &format!("SyntaxError: {message}{line}"),
                    MAX_MESSAGE,
                ))
            }
            Err(_) => Err("the code could not be compiled".to_owned()),
        }
    });
    watch.disarm();
    result
}

#[cfg(test)]
mod tests {
    #[test]
    fn good_code_passes_and_a_syntax_error_is_reported() {
        assert_eq!(
            super::check("exports.onExecutePostLogin = async (event, api) => {};"),
            Ok(())
        );
        let err = super::check("exports.onExecutePostLogin = async (event, api) => {").err();
        assert!(err.is_some_and(|e| e.starts_with("SyntaxError")));
        // Sloppy mode, as Node's CommonJS.
        assert_eq!(
            super::check("x = 010; exports.onExecutePostLogin = function (e, a) {};"),
            Ok(())
        );
    }

    #[test]
    fn code_that_escapes_the_wrapper_is_stopped() {
        // Closes the wrapper and loops at the top level: the check still answers (compiled, not run long).
        assert_eq!(super::check("}); while (true) {} (function () {"), Ok(()));
    }
}
