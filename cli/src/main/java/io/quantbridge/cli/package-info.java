/** The picocli command line; orchestration stays in the library. */
package io.quantbridge.cli;
