/* json.c — a strict JSON tokenizer (RFC 8259) for safetensors headers.
 *
 * The header parser (safetensors.c) walks the one shape a header has, so
 * there is no document tree: memory stays within the arena of the input's
 * size plus the parser's own tables. */
#include "io/io_internal.h"

#include <stdarg.h>
#include <stdio.h>

nn_status io_json_fail(io_json *j, nn_error *err, const char *fmt, ...) {
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return io_error(err, NN_E_PARSE, "%s: malformed safetensors header: byte %zu of the JSON: %s",
                    j->name, j->pos, why);
}

/* JSON whitespace. */
static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

int io_json_peek(io_json *j) {
    while (j->pos < j->len && is_ws(j->s[j->pos])) j->pos++;
    return j->pos < j->len ? (unsigned char)j->s[j->pos] : -1;
}

int io_json_accept(io_json *j, char c) {
    if (io_json_peek(j) != (unsigned char)c) return 0;
    j->pos++;
    return 1;
}

/* A short description of the next token for messages. */
static const char *next_desc(io_json *j) {
    int c = io_json_peek(j);
    if (c < 0) return "the end of the header";
    if (c == '"') return "a string";
    if (c == '{') return "'{'";
    if (c == '}') return "'}'";
    if (c == '[') return "'['";
    if (c == ']') return "']'";
    if (c == ',') return "','";
    if (c == ':') return "':'";
    if (c == '-' || (c >= '0' && c <= '9')) return "a number";
    if (c == 't' || c == 'f' || c == 'n') return "a literal";
    return "an invalid character";
}

nn_status io_json_expect(io_json *j, char c, const char *what, nn_error *err) {
    if (io_json_accept(j, c)) return NN_OK;
    return io_json_fail(j, err, "expected '%c' %s, found %s", c, what, next_desc(j));
}

/* Value of one hex digit, or -1. */
static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Four hex digits at j->pos (after "\u"); -1 if malformed. */
static long hex4(io_json *j) {
    if (j->len - j->pos < 4) return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(j->s[j->pos + (size_t)i]);
        if (h < 0) return -1;
        v = v * 16 + h;
    }
    j->pos += 4;
    return v;
}

/* Append code point cp as UTF-8 to the arena. */
static void put_utf8(io_json *j, uint32_t cp) {
    char *o = j->arena + j->arena_used;
    if (cp < 0x80) {
        o[0] = (char)cp;
        j->arena_used += 1;
    } else if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        j->arena_used += 2;
    } else if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        j->arena_used += 3;
    } else {
        o[0] = (char)(0xF0 | (cp >> 18));
        o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[3] = (char)(0x80 | (cp & 0x3F));
        j->arena_used += 4;
    }
}

/* One escape sequence after the backslash. The decoded form is never longer
 * than the escape (\uXXXX = 6 bytes -> at most 3; a surrogate pair = 12 -> 4). */
static nn_status string_escape(io_json *j, nn_error *err) {
    if (j->pos >= j->len) return io_json_fail(j, err, "unterminated string");
    char e = j->s[j->pos++];
    const char *simple = "\"\\/bfnrt", *value = "\"\\/\b\f\n\r\t";
    const char *k = strchr(simple, e);
    if (e != '\0' && k != NULL) {
        j->arena[j->arena_used++] = value[k - simple];
        return NN_OK;
    }
    if (e != 'u') {
        j->pos--;
        return io_json_fail(j, err, "invalid escape '\\%c' in a string",
                            (e >= 0x20 && e < 0x7F) ? e : '?');
    }
    long cp = hex4(j);
    if (cp < 0) return io_json_fail(j, err, "\\u must be followed by 4 hex digits");
    if (cp == 0) return io_json_fail(j, err, "a string contains NUL (\\u0000)");
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return io_json_fail(j, err, "unpaired low surrogate \\u%04lx in a string", cp);
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (j->len - j->pos < 2 || j->s[j->pos] != '\\' || j->s[j->pos + 1] != 'u')
            return io_json_fail(j, err, "high surrogate \\u%04lx not followed by a low one", cp);
        j->pos += 2;
        long lo = hex4(j);
        if (lo < 0xDC00 || lo > 0xDFFF)
            return io_json_fail(j, err, "high surrogate \\u%04lx not followed by a low one", cp);
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    put_utf8(j, (uint32_t)cp);
    return NN_OK;
}

nn_status io_json_string(io_json *j, const char **out, size_t *len, const char *what,
                         nn_error *err) {
    if (io_json_peek(j) != '"')
        return io_json_fail(j, err, "expected a string %s, found %s", what, next_desc(j));
    j->pos++;
    const size_t start = j->arena_used;
    for (;;) {
        if (j->pos >= j->len) return io_json_fail(j, err, "unterminated string");
        unsigned char c = (unsigned char)j->s[j->pos];
        if (c == '"') {
            j->pos++;
            break;
        }
        if (c == '\\') {
            j->pos++;
            nn_status st = string_escape(j, err);
            if (st != NN_OK) return st;
        } else if (c < 0x20) {
            return io_json_fail(j, err, "control character 0x%02x in a string (must be escaped)",
                                c);
        } else {
            size_t n = io_utf8_seq((const unsigned char *)j->s + j->pos, j->len - j->pos);
            if (n == 0) return io_json_fail(j, err, "invalid UTF-8 in a string");
            memcpy(j->arena + j->arena_used, j->s + j->pos, n);
            j->arena_used += n;
            j->pos += n;
        }
    }
    j->arena[j->arena_used++] = '\0'; /* the closing quote paid for it */
    *out = j->arena + start;
    *len = j->arena_used - start - 1;
    return NN_OK;
}

nn_status io_json_u64(io_json *j, uint64_t *out, const char *what, nn_error *err) {
    int c = io_json_peek(j);
    if (c != '-' && (c < '0' || c > '9'))
        return io_json_fail(j, err, "expected a number %s, found %s", what, next_desc(j));
    const size_t start = j->pos;
    size_t p = j->pos;
    int negative = 0, integer = 1;
    if (j->s[p] == '-') negative = 1, p++;
    if (p >= j->len || j->s[p] < '0' || j->s[p] > '9') {
        j->pos = p;
        return io_json_fail(j, err, "malformed number %s", what);
    }
    if (j->s[p] == '0' && p + 1 < j->len && j->s[p + 1] >= '0' && j->s[p + 1] <= '9') {
        j->pos = p;
        return io_json_fail(j, err, "malformed number %s (leading zero)", what);
    }
    const size_t digits = p;
    while (p < j->len && j->s[p] >= '0' && j->s[p] <= '9') p++;
    const size_t digits_end = p;
    if (p < j->len && j->s[p] == '.') {
        integer = 0;
        p++;
        if (p >= j->len || j->s[p] < '0' || j->s[p] > '9') {
            j->pos = p;
            return io_json_fail(j, err, "malformed number %s (no digit after '.')", what);
        }
        while (p < j->len && j->s[p] >= '0' && j->s[p] <= '9') p++;
    }
    if (p < j->len && (j->s[p] == 'e' || j->s[p] == 'E')) {
        integer = 0;
        p++;
        if (p < j->len && (j->s[p] == '+' || j->s[p] == '-')) p++;
        if (p >= j->len || j->s[p] < '0' || j->s[p] > '9') {
            j->pos = p;
            return io_json_fail(j, err, "malformed number %s (no digit in the exponent)", what);
        }
        while (p < j->len && j->s[p] >= '0' && j->s[p] <= '9') p++;
    }
    j->pos = start;
    if (negative || !integer)
        return io_json_fail(j, err, "%s must be a non-negative integer, found %.*s", what,
                            (int)(p - start > 40 ? 40 : p - start), j->s + start);
    if (!io_parse_u64(j->s + digits, digits_end - digits, out))
        return io_json_fail(j, err, "%s %.*s is larger than 2^64 - 1", what,
                            (int)(p - start > 40 ? 40 : p - start), j->s + start);
    j->pos = p;
    return NN_OK;
}

nn_status io_json_end(io_json *j, nn_error *err) {
    if (io_json_peek(j) < 0) return NN_OK;
    return io_json_fail(j, err, "%s after the end of the top-level object", next_desc(j));
}
