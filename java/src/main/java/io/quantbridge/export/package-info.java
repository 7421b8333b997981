/** Writing a set of output files all-or-nothing: staged first, then moved into place. */
package io.quantbridge.export;
