/* text.c — string builder, UTF-8 checks and locale-independent numbers. */
#include "io/io_internal.h"

#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* Make room for `more` bytes plus the NUL. */
static int str_reserve(io_str *b, size_t more) {
    if (b->failed) return 0;
    if (more > SIZE_MAX / 2 - b->len - 1) {
        b->failed = 1;
        return 0;
    }
    size_t need = b->len + more + 1;
    if (need <= b->cap) return 1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) cap *= 2;
    char *s = realloc(b->s, cap);
    if (s == NULL) {
        b->failed = 1;
        return 0;
    }
    b->s = s;
    b->cap = cap;
    return 1;
}

void io_str_add(io_str *b, const char *text, size_t len) {
    if (!str_reserve(b, len)) return;
    memcpy(b->s + b->len, text, len);
    b->len += len;
    b->s[b->len] = '\0';
}

void io_str_adds(io_str *b, const char *text) { io_str_add(b, text, strlen(text)); }

void io_str_addf(io_str *b, const char *fmt, ...) {
    char small[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if ((size_t)n < sizeof small) {
        io_str_add(b, small, (size_t)n);
        return;
    }
    if (!str_reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void io_str_add_json(io_str *b, const char *text) {
    io_str_add(b, "\"", 1);
    const char *run = text; /* start of bytes copied as they are */
    for (const char *p = text;; p++) {
        unsigned char c = (unsigned char)*p;
        if (c != 0 && c >= 0x20 && c != '"' && c != '\\') continue;
        io_str_add(b, run, (size_t)(p - run));
        run = p + 1;
        if (c == 0) break;
        switch (c) {
        case '"': io_str_add(b, "\\\"", 2); break;
        case '\\': io_str_add(b, "\\\\", 2); break;
        case '\n': io_str_add(b, "\\n", 2); break;
        case '\r': io_str_add(b, "\\r", 2); break;
        case '\t': io_str_add(b, "\\t", 2); break;
        default: io_str_addf(b, "\\u%04x", c); break;
        }
    }
    io_str_add(b, "\"", 1);
}

void io_str_free(io_str *b) {
    free(b->s);
    memset(b, 0, sizeof *b);
}

size_t io_utf8_seq(const unsigned char *s, size_t len) {
    if (len == 0) return 0;
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t n;
    uint32_t cp, min;
    if (c >= 0xC2 && c <= 0xDF) n = 2, cp = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) n = 3, cp = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) n = 4, cp = c & 0x07, min = 0x10000;
    else return 0;
    if (len < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

int io_utf8_valid(const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t n = io_utf8_seq(p + i, len - i);
        if (n == 0) return 0;
        i += n;
    }
    return 1;
}

void io_str_add_doubles(io_str *b, const double *v, size_t n) {
    locale_t c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    locale_t old = c != (locale_t)0 ? uselocale(c) : (locale_t)0;
    for (size_t i = 0; i < n; i++) {
        char buf[40];
        int len = snprintf(buf, sizeof buf, "%.17g", v[i]);
        /* Without a C locale object (out of memory) a ',' decimal point may
         * appear: put the '.' back, the only character a locale changes here. */
        for (char *p = buf; *p; p++)
            if (*p == ',') *p = '.';
        if (i > 0) io_str_add(b, ",", 1);
        io_str_add(b, buf, len > 0 ? (size_t)len : 0);
    }
    if (c != (locale_t)0) {
        uselocale(old);
        freelocale(c);
    }
}

int io_parse_u64(const char *s, size_t len, uint64_t *out) {
    if (len == 0 || (s[0] == '0' && len > 1)) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

/* One number of a list: s[0..len) must be all of it. */
static int parse_one(const char *s, size_t len, locale_t c, double *out) {
    char buf[64]; /* %.17g needs at most 24 */
    if (len == 0 || len >= sizeof buf) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    for (size_t i = 0; i < len; i++) /* no spaces, hex, inf or nan */
        if (!(buf[i] == '-' || buf[i] == '+' || buf[i] == '.' || buf[i] == 'e' ||
              buf[i] == 'E' || (buf[i] >= '0' && buf[i] <= '9')))
            return 0;
    char *end = NULL;
    double v = strtod_l(buf, &end, c);
    if (end != buf + len || !isfinite(v)) return 0; /* subnormals are fine */
    *out = v;
    return 1;
}

int io_parse_doubles(const char *s, double *out, size_t n) {
    locale_t c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (c == (locale_t)0) return 0;
    int ok = 1;
    size_t i = 0;
    const char *p = s;
    for (;; i++) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (i >= n || !parse_one(p, len, c, &out[i])) {
            ok = 0;
            break;
        }
        if (!comma) break;
        p = comma + 1;
    }
    freelocale(c);
    return ok && i + 1 == n;
}

void io_printable(char *s) {
    const size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        size_t n = io_utf8_seq((const unsigned char *)s + i, len - i);
        if (n == 0 || (n == 1 && ((unsigned char)s[i] < 0x20 || s[i] == 0x7F))) {
            s[i++] = '?';
        } else {
            i += n;
        }
    }
}

nn_status io_error(nn_error *err, nn_status s, const char *fmt, ...) {
    if (err != NULL) {
        err->status = s;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        io_printable(err->msg);
    }
    return s;
}
