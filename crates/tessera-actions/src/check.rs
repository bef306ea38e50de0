//! The syntax check behind Auth0's `status: built` / `failed`.

use crate::bounded;
use crate::sandbox::{CompileError, ESCAPES, MAX_MESSAGE, compile};
use rquickjs::{Context, Runtime};

/// Compiles `code` as the engine runs it (Node's CommonJS wrapper, sloppy mode) without running any of
/// it. `Err` is the compile error (`SyntaxError: … (action.js:line)`), bounded, safe to show: it names the
/// code's own text only.
///
/// Runs use the same construction ([`compile`]), so what passes here compiles there. Code that closes the
/// wrapper early (`}); …; (function () {`) is refused here and fails every run with `Exception`; it never
/// runs (the script stops at a `throw` placed before it; the wrapper is a hoisted declaration).
pub fn check(code: &str) -> Result<(), String> {
    let rt = Runtime::new().map_err(|_| "the syntax check could not start".to_owned())?;
    rt.set_memory_limit(8 * 1024 * 1024);
    rt.set_max_stack_size(256 * 1024);
    let context = Context::full(&rt).map_err(|_| "the syntax check could not start".to_owned())?;
    context.with(|ctx| match compile(&ctx, code) {
        Ok(_) => Ok(()),
        Err(CompileError::Escapes) => Err(ESCAPES.to_owned()),
        Err(CompileError::Thrown(rquickjs::Error::Exception)) => {
            let thrown = ctx.catch();
            let Some(exception) = thrown.as_exception() else {
                return Err("the code could not be compiled".to_owned());
            };
            let name: String = exception.get("name").unwrap_or_else(|_| "Error".to_owned());
            let message = exception.message().unwrap_or_default();
            let line = exception
                .stack()
                .and_then(|s| {
                    s.lines()
                        .find_map(|l| l.split("action.js:").nth(1).map(str::to_owned))
                })
                .map(|at| format!(" (action.js:{})", at.trim_end_matches(')')))
                .unwrap_or_default();
            Err(bounded(&format!("{name}: {message}{line}"), MAX_MESSAGE))
        }
        Err(CompileError::Thrown(_)) => Err("the code could not be compiled".to_owned()),
    })
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
    fn code_that_escapes_the_wrapper_is_refused_without_running() {
        // Closes the wrapper and loops at the top level: refused, and nothing of it ran (it would never end).
        let started = std::time::Instant::now();
        for code in [
            "}); while (true) {} (function () {",
            "} while (true) {} function __tesseraAction() {",
            "} while (true) {} function x() {",
            "}; for (;;) {}; {",
        ] {
            let err = super::check(code).err();
            assert!(err.is_some_and(|e| e.starts_with("SyntaxError")), "{code}");
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        // Braces inside strings, comments, regexps and templates are the code's own.
        assert_eq!(
            super::check(
                "const s = '})'; /* }) */ const r = /\\}/; const t = `${'}'}`; // })\nexports.onExecutePostLogin = () => {};"
            ),
            Ok(())
        );
    }
}
