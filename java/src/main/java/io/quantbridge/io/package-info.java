/**
 * File writing shared by every part of QuantBridge: whole files are written to a temporary
 * file in the target directory and renamed into place, so a failed step leaves no
 * half-written output and, when asked, overwrites nothing the user had.
 */
package io.quantbridge.io;
