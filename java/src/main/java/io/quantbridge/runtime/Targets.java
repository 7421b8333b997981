package io.quantbridge.runtime;

import io.quantbridge.QuantBridgeException;
import java.util.regex.Pattern;

/**
 * Checks of the user's {@code package.module:function} targets, with messages that say which
 * part is wrong: the form (in Java), then the module and the function (in Python, before any
 * long work starts).
 */
public final class Targets {
    private static final Pattern DOTTED = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*");

    private Targets() {
    }

    /**
     * Checks the form {@code package.module:function}.
     *
     * @param option the option that gave it, for the message
     * @throws IllegalArgumentException naming the missing or malformed part
     */
    public static void checkForm(String target, String option) {
        if (target == null || target.isBlank()) {
            throw new IllegalArgumentException(option + " is required: give the function as 'package.module:function'");
        }
        int colon = target.indexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException(option + " '" + target + "': the ':' between the module and the function "
                    + "is missing; expected 'package.module:function', e.g. 'my_project.models:build_model'");
        }
        String module = target.substring(0, colon);
        String function = target.substring(colon + 1);
        if (module.isEmpty()) {
            throw new IllegalArgumentException(option + " '" + target + "': the module part before ':' is empty; "
                    + "expected 'package.module:function'");
        }
        if (function.isEmpty()) {
            throw new IllegalArgumentException(option + " '" + target + "': the function part after ':' is empty; "
                    + "expected 'package.module:function'");
        }
        if (!DOTTED.matcher(module).matches()) {
            throw new IllegalArgumentException(option + " '" + target + "': the module part '" + module + "' is not a "
                    + "dotted Python module name (a file path? use the module name and --pythonpath for its directory)");
        }
        if (!DOTTED.matcher(function).matches()) {
            throw new IllegalArgumentException(option + " '" + target + "': the function part '" + function
                    + "' is not a Python name");
        }
    }

    /**
     * Checks the form, then that the module imports from the current Python path and has the
     * function. Errors raised by the user's module while it imports propagate as they are.
     *
     * @throws IllegalArgumentException if the form is wrong
     * @throws QuantBridgeException naming the missing module or function (and what exists), or
     *     the module's own import error
     */
    public static void check(PythonRuntime rt, String target, String option) throws QuantBridgeException {
        checkForm(target, option);
        Object problem = rt.call("quantbridge._cli_support:check_target", target, option);
        if (problem != null) {
            throw new QuantBridgeException(String.valueOf(problem));
        }
    }
}
