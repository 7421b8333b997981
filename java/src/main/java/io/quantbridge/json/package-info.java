/**
 * JSON on the Java side, for every file Java writes (the config, the parameter file, the report):
 * one parser and one writer ({@link io.quantbridge.json.Json}), the conversion of the values the
 * Python bridge hands over into JSON trees ({@link io.quantbridge.json.JsonValues}), and values as
 * error messages quote them ({@link io.quantbridge.json.PythonRepr}).
 */
package io.quantbridge.json;
