/* error.c — status names and error reports. */
#include <stdarg.h>
#include <stdio.h>

#include "nn.h"

const char *nn_status_str(nn_status s) {
    switch (s) {
    case NN_OK: return "ok";
    case NN_E_INVALID: return "invalid argument";
    case NN_E_NOMEM: return "out of memory";
    case NN_E_IO: return "i/o error";
    case NN_E_PARSE: return "parse error";
    case NN_E_UNAVAILABLE: return "backend unavailable";
    case NN_E_BACKEND: return "backend error";
    case NN_E_NUMERIC: return "numeric error";
    case NN_E_STOPPED: return "stopped";
    }
    return "unknown status";
}

/* Fill err from a format and its arguments. */
static void set(nn_error *err, nn_status s, const char *param, const char *fmt, va_list ap) {
    err->status = s;
    snprintf(err->param, sizeof err->param, "%s", param ? param : "");
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
}

nn_status nn_error_set(nn_error *err, nn_status s, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        set(err, s, NULL, fmt, ap);
        va_end(ap);
    }
    return s;
}

nn_status nn_error_set_param(nn_error *err, nn_status s, const char *param, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        set(err, s, param, fmt, ap);
        va_end(ap);
    }
    return s;
}
