/* csv.c — numeric CSV loader (nn_data_load_csv).
 *
 * Format: comma-separated numeric fields, one row per line, "\n", "\r\n" or
 * lone "\r" endings, lines of up to NN_CSV_MAX_LINE bytes (so a file that is
 * not text, e.g. /dev/zero, fails fast instead of filling memory). Fields
 * may be padded with spaces/tabs and
 * wrapped in double quotes (no embedded commas). A UTF-8 byte-order mark is
 * skipped. Blank lines are allowed only at the end of the file. Numbers are
 * read in the "C" locale whatever the caller's locale is. The width of the
 * first row (header or data) is the width of every row.
 *
 * Every error names the file and the line (and the column, 1-based, when one
 * field is at fault): NN_E_IO for open/read failures, NN_E_PARSE for content,
 * NN_E_INVALID for bad options (including a label column the file lacks).
 * Facts that are not errors (classes that never occur) go to nn_csv_info.
 */
#include "data/data_internal.h"

#include <errno.h>
#include <float.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes read from the file at a time. */
#define CSV_CHUNK 65536

/* Loader state: the open file, the current line and the rows read so far. */
typedef struct csv_state {
    const char *path;
    FILE *fp;
    locale_t c_locale;
    char *line; /* (line_cap) current line, NUL-terminated, <= NN_CSV_MAX_LINE bytes */
    size_t line_cap;
    char *rbuf;  /* (CSV_CHUNK) bytes read from the file */
    size_t rpos, rlen;
    int after_cr; /* the last line ended with '\r': skip a '\n' that follows */
    size_t lineno; /* 1-based number of the current line */
    char **fields; /* (field_cap) pointers into line */
    size_t field_cap;
    size_t width;      /* fields per row; 0 until the first row */
    size_t width_line; /* line that set width */
    size_t label;      /* label column, 0-based */
    float *x;          /* (cap, width - 1) */
    float *y;          /* (cap) */
    size_t rows, cap;
    double max_label;
    size_t *class_rows; /* (NN_CSV_MAX_CLASSES) rows per class label */
    int header;         /* the first row was a header */
} csv_state;

/* 1 when c is a space or a tab. */
static int is_blank(char c) {
    return c == ' ' || c == '\t';
}

/* Append chunk[0..n) to the current line (len bytes so far), within the
 * line limit and with no NUL byte. */
static nn_status line_append(csv_state *st, size_t *len, const char *chunk, size_t n,
                             nn_error *err) {
    if (memchr(chunk, '\0', n) != NULL)
        return nn_error_set(err, NN_E_PARSE, "%s: line %zu: NUL byte (not a text file?)", st->path,
                            st->lineno);
    if (n > NN_CSV_MAX_LINE - *len)
        return nn_error_set(err, NN_E_PARSE,
                            "%s: line %zu is longer than %zu bytes (1 MiB), the CSV reader's limit "
                            "(not a text CSV file?)",
                            st->path, st->lineno, NN_CSV_MAX_LINE);
    if (*len + n + 1 > st->line_cap) {
        size_t cap = st->line_cap ? st->line_cap : 256;
        while (cap < *len + n + 1) cap *= 2;
        if (cap > NN_CSV_MAX_LINE + 1) cap = NN_CSV_MAX_LINE + 1;
        char *line = realloc(st->line, cap);
        if (line == NULL)
            return nn_error_set(err, NN_E_NOMEM, "%s: line %zu: cannot allocate %zu bytes",
                                st->path, st->lineno, cap);
        st->line = line;
        st->line_cap = cap;
    }
    memcpy(st->line + *len, chunk, n);
    *len += n;
    st->line[*len] = '\0';
    return NN_OK;
}

/* Read the next line (terminator "\n", "\r\n" or "\r" removed) into
 * st->line and advance lineno. *got = 0 at the end of the file. */
static nn_status next_line(csv_state *st, size_t *len, int *got, nn_error *err) {
    *len = 0;
    *got = 0;
    int started = 0;
    for (;;) {
        if (st->rpos == st->rlen) {
            st->rpos = 0;
            st->rlen = fread(st->rbuf, 1, CSV_CHUNK, st->fp);
            if (st->rlen == 0) {
                if (ferror(st->fp))
                    return nn_error_set(err, NN_E_IO, "%s: read error after line %zu: %s",
                                        st->path, st->lineno, strerror(errno ? errno : EIO));
                *got = started; /* a last line without a terminator */
                return NN_OK;
            }
        }
        if (st->after_cr) { /* "\r\n" is one terminator */
            st->after_cr = 0;
            if (st->rbuf[st->rpos] == '\n') st->rpos++;
            continue;
        }
        if (!started) {
            started = 1;
            st->lineno++;
            if (st->line == NULL) {
                nn_status s = line_append(st, len, "", 0, err);
                if (s != NN_OK) return s;
            }
            st->line[0] = '\0';
        }
        const char *p = st->rbuf + st->rpos, *end = st->rbuf + st->rlen, *q = p;
        while (q < end && *q != '\n' && *q != '\r') q++;
        nn_status s = line_append(st, len, p, (size_t)(q - p), err);
        if (s != NN_OK) return s;
        st->rpos = (size_t)(q - st->rbuf);
        if (q < end) {
            st->after_cr = *q == '\r';
            st->rpos++;
            *got = 1;
            return NN_OK;
        }
    }
}

/* 1 when the line holds only spaces and tabs. */
static int line_is_blank(const char *s) {
    while (is_blank(*s)) s++;
    return *s == '\0';
}

/* Trim blanks and one pair of surrounding double quotes, in place. */
static char *trim_field(char *s) {
    while (is_blank(*s)) s++;
    size_t len = strlen(s);
    while (len > 0 && is_blank(s[len - 1])) s[--len] = '\0';
    if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
        s[len - 1] = '\0';
        s++;
    }
    return s;
}

/* Split st->line at commas into st->fields; returns the count, or 0 on
 * allocation failure. */
static size_t split_fields(csv_state *st) {
    size_t count = 1;
    for (const char *p = st->line; *p; p++) count += *p == ',';
    if (count > st->field_cap) {
        char **f = realloc(st->fields, count * sizeof *f);
        if (f == NULL) return 0;
        st->fields = f;
        st->field_cap = count;
    }
    char *p = st->line;
    for (size_t i = 0; i < count; i++) {
        char *comma = strchr(p, ',');
        if (comma != NULL) *comma = '\0';
        st->fields[i] = trim_field(p);
        p = comma != NULL ? comma + 1 : p + strlen(p);
    }
    return count;
}

/* Parse a whole field as a number in the C locale; 0 if it is not one.
 * *overflow = 1 when its magnitude is beyond double (1e400), which strtod
 * turns into Inf. */
static int parse_number(const csv_state *st, const char *s, double *v, int *overflow) {
    if (*s == '\0') return 0;
    char *end = NULL;
    errno = 0;
    *v = strtod_l(s, &end, st->c_locale);
    *overflow = errno == ERANGE && isinf(*v);
    return end != s && *end == '\0';
}

/* Grow x/y to hold at least one more row. */
static nn_status reserve_row(csv_state *st, nn_error *err) {
    if (st->rows < st->cap) return NN_OK;
    const size_t f = st->width - 1;
    const size_t cap = st->cap ? st->cap * 2 : 1024;
    if (cap < st->cap || cap > SIZE_MAX / sizeof(float) / (f ? f : 1))
        return nn_error_set(err, NN_E_NOMEM, "%s: line %zu: too many rows", st->path, st->lineno);
    float *x = realloc(st->x, cap * f * sizeof(float));
    if (x != NULL) st->x = x;
    float *y = realloc(st->y, cap * sizeof(float));
    if (y != NULL) st->y = y;
    if (x == NULL || y == NULL)
        return nn_error_set(err, NN_E_NOMEM, "%s: line %zu: cannot allocate %zu rows", st->path,
                            st->lineno, cap);
    st->cap = cap;
    return NN_OK;
}

/* Check one parsed label against the task and count it; col is 1-based
 * for messages. */
static nn_status check_label(csv_state *st, const char *text, double v, int regression,
                             nn_error *err) {
    if (regression) return NN_OK;
    if (v < 0.0 || v != floor(v))
        return nn_error_set(err, NN_E_PARSE,
                            "%s: line %zu, column %zu: label '%.40s' is not a non-negative "
                            "integer class index (regression targets need the regression option)",
                            st->path, st->lineno, st->label + 1, text);
    if (v >= NN_CSV_MAX_CLASSES)
        return nn_error_set(err, NN_E_PARSE,
                            "%s: line %zu, column %zu: label '%.40s' is above the largest class "
                            "index %d (labels must be 0..k-1 with at most %d classes)",
                            st->path, st->lineno, st->label + 1, text, NN_CSV_MAX_CLASSES - 1,
                            NN_CSV_MAX_CLASSES);
    if (v > st->max_label) st->max_label = v;
    st->class_rows[(size_t)v]++;
    return NN_OK;
}

/* Parse the split fields of a data row and append it. */
static nn_status add_row(csv_state *st, int regression, nn_error *err) {
    nn_status s = reserve_row(st, err);
    if (s != NN_OK) return s;
    float *xr = st->x + st->rows * (st->width - 1); /* (width - 1) */
    size_t k = 0;
    for (size_t c = 0; c < st->width; c++) {
        const char *text = st->fields[c];
        double v;
        int overflow;
        if (*text == '\0')
            return nn_error_set(err, NN_E_PARSE, "%s: line %zu, column %zu: empty field", st->path,
                                st->lineno, c + 1);
        if (!parse_number(st, text, &v, &overflow))
            return nn_error_set(err, NN_E_PARSE,
                                "%s: line %zu, column %zu: '%.40s' is not a number", st->path,
                                st->lineno, c + 1, text);
        if (overflow || (isfinite(v) && fabs(v) > FLT_MAX))
            return nn_error_set(err, NN_E_PARSE,
                                "%s: line %zu, column %zu: '%.40s' is outside the float32 range "
                                "(magnitude above %.3g)",
                                st->path, st->lineno, c + 1, text, (double)FLT_MAX);
        if (!isfinite(v))
            return nn_error_set(
                err, NN_E_PARSE,
                "%s: line %zu, column %zu: '%.40s' is not a finite number (NaN or Inf)", st->path,
                st->lineno, c + 1, text);
        if (c == st->label) {
            s = check_label(st, text, v, regression, err);
            if (s != NN_OK) return s;
            st->y[st->rows] = (float)v;
        } else {
            xr[k++] = (float)v;
        }
    }
    st->rows++;
    return NN_OK;
}

/* 1 when some field of the split line is not a number (a header row). */
static int looks_like_header(const csv_state *st, size_t count) {
    for (size_t c = 0; c < count; c++) {
        double v;
        int overflow;
        if (!parse_number(st, st->fields[c], &v, &overflow)) return 1;
    }
    return 0;
}

/* The first row fixes the width and the label column; returns whether it is
 * a header through *is_header. */
static nn_status first_row(csv_state *st, size_t count, const nn_csv_options *o, int *is_header,
                           nn_error *err) {
    st->width = count;
    st->width_line = st->lineno;
    if (count < 2)
        return nn_error_set(
            err, NN_E_PARSE,
            "%s: line %zu: found %zu column, need at least 2 (features, then a label)", st->path,
            st->lineno, count);
    if (o->label_column >= 0 && (size_t)o->label_column >= count)
        return nn_error_set(err, NN_E_INVALID,
                            "%s: line %zu: label_column %d is out of range (the file has %zu "
                            "columns, 0-based)",
                            st->path, st->lineno, o->label_column, count);
    st->label = o->label_column < 0 ? count - 1 : (size_t)o->label_column;
    *is_header = o->header == 1 || (o->header == -1 && looks_like_header(st, count));
    return NN_OK;
}

/* Read every line of the open file into st. */
static nn_status read_rows(csv_state *st, const nn_csv_options *o, nn_error *err) {
    size_t blank_line = 0; /* first blank line after content, 0 if none */
    for (;;) {
        size_t len;
        int got;
        nn_status s = next_line(st, &len, &got, err);
        if (s != NN_OK) return s;
        if (!got) return NN_OK;
        if (st->lineno == 1 && len >= 3 && memcmp(st->line, "\xEF\xBB\xBF", 3) == 0)
            memmove(st->line, st->line + 3, len - 2); /* UTF-8 BOM; keeps the NUL */
        if (line_is_blank(st->line)) {
            if (blank_line == 0) blank_line = st->lineno;
            continue;
        }
        if (blank_line != 0)
            return nn_error_set(err, NN_E_PARSE,
                                "%s: line %zu: blank line before more data (only trailing blank "
                                "lines are allowed)",
                                st->path, blank_line);
        const size_t count = split_fields(st);
        if (count == 0)
            return nn_error_set(err, NN_E_NOMEM, "%s: line %zu: cannot allocate fields", st->path,
                                st->lineno);
        if (st->width == 0) {
            int is_header = 0;
            s = first_row(st, count, o, &is_header, err);
            if (s != NN_OK) return s;
            st->header = is_header;
            if (is_header) continue;
        } else if (count != st->width) {
            return nn_error_set(err, NN_E_PARSE,
                                "%s: line %zu: %s fields: expected %zu (as on line %zu), found %zu",
                                st->path, st->lineno, count < st->width ? "missing" : "extra",
                                st->width, st->width_line, count);
        }
        s = add_row(st, o->regression, err);
        if (s != NN_OK) return s;
    }
}

/* Reject option values outside their documented sets. */
static nn_status check_options(const nn_csv_options *o, const char *path, nn_error *err) {
    if (o->header < -1 || o->header > 1)
        return nn_error_set(err, NN_E_INVALID, "%s: header option must be -1, 0 or 1, got %d", path,
                            o->header);
    if (o->regression != 0 && o->regression != 1)
        return nn_error_set(err, NN_E_INVALID, "%s: regression option must be 0 or 1, got %d", path,
                            o->regression);
    if (o->label_column < -1)
        return nn_error_set(err, NN_E_INVALID, "%s: label_column must be >= -1, got %d", path,
                            o->label_column);
    return NN_OK;
}

/* Describe the classes in 0..k-1 that no row carries in info->warning. */
static void note_missing(const csv_state *st, size_t classes, nn_csv_info *info) {
    size_t missing = 0;
    for (size_t c = 0; c < classes; c++) missing += st->class_rows[c] == 0;
    info->missing_classes = missing;
    if (missing == 0) return;
    char list[256] = "";
    size_t shown = 0, at = 0;
    for (size_t c = 0; c < classes && shown < 8; c++)
        if (st->class_rows[c] == 0) {
            int n = snprintf(list + at, sizeof list - at, "%s%zu", shown ? ", " : "", c);
            if (n > 0) at += (size_t)n;
            shown++;
        }
    char more[64] = "";
    if (missing > shown) snprintf(more, sizeof more, " and %zu more", missing - shown);
    snprintf(info->warning, sizeof info->warning,
             "%.200s: %zu of the %zu classes 0..%zu never occur%s in the labels (%s%s): the "
             "model will still have %zu outputs",
             st->path, missing, classes, classes - 1, missing == 1 ? "s" : "", list, more, classes);
}

/* Turn the rows read into the output dataset (checks rows and classes). */
static nn_status finish(csv_state *st, int regression, nn_dataset *out, nn_csv_info *info,
                        nn_error *err) {
    if (st->rows == 0)
        return nn_error_set(err, NN_E_PARSE, "%s: no data rows (%zu line%s read)", st->path,
                            st->lineno, st->lineno == 1 ? "" : "s");
    size_t classes = 0;
    if (!regression) {
        classes = (size_t)st->max_label + 1;
        size_t distinct = 0;
        for (size_t c = 0; c < classes; c++) distinct += st->class_rows[c] > 0;
        if (distinct < 2)
            return nn_error_set(err, NN_E_PARSE,
                                "%s: every label is %zu: the data has one class; classification "
                                "needs at least 2 classes (for real-valued targets use the "
                                "regression option)",
                                st->path, classes - 1);
        note_missing(st, classes, info);
    }
    out->n = st->rows;
    out->features = st->width - 1;
    out->classes = classes;
    out->x = st->x;
    out->y = st->y;
    st->x = NULL;
    st->y = NULL;
    return NN_OK;
}

/* Load a numeric CSV; opt NULL = last column is the label, detect a header,
 * classification. On failure *out is zeroed. */
nn_status nn_data_load_csv_info(const char *path, const nn_csv_options *opt, nn_dataset *out,
                                nn_csv_info *info, nn_error *err) {
    nn_csv_info local;
    if (info == NULL) info = &local;
    memset(info, 0, sizeof *info);
    if (out == NULL || path == NULL)
        return nn_error_set(err, NN_E_INVALID, "nn_data_load_csv: NULL path or output");
    memset(out, 0, sizeof *out);
    const nn_csv_options defaults = {.label_column = -1, .header = -1, .regression = 0};
    const nn_csv_options *o = opt != NULL ? opt : &defaults;
    nn_status s = check_options(o, path, err);
    if (s != NN_OK) return s;
    csv_state st = {.path = path, .max_label = -1.0};
    st.rbuf = malloc(CSV_CHUNK);
    st.class_rows = o->regression ? NULL : calloc(NN_CSV_MAX_CLASSES, sizeof *st.class_rows);
    if (st.rbuf == NULL || (!o->regression && st.class_rows == NULL)) {
        free(st.rbuf);
        free(st.class_rows);
        return nn_error_set(err, NN_E_NOMEM, "%s: out of memory", path);
    }
    st.fp = fopen(path, "rb");
    if (st.fp == NULL) {
        int e = errno;
        free(st.rbuf);
        free(st.class_rows);
        return nn_error_set(err, NN_E_IO, "%s: cannot open: %s", path, strerror(e));
    }
    st.c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (st.c_locale == (locale_t)0) {
        fclose(st.fp);
        free(st.rbuf);
        free(st.class_rows);
        return nn_error_set(err, NN_E_NOMEM, "%s: cannot create the C locale", path);
    }
    s = read_rows(&st, o, err);
    if (s == NN_OK) s = finish(&st, o->regression, out, info, err);
    if (s != NN_OK && err != NULL) /* quoted cells may hold control characters */
        for (char *c = err->msg; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7F) *c = '?';
    info->lines = st.lineno;
    info->header = st.header;
    freelocale(st.c_locale);
    fclose(st.fp);
    free(st.line);
    free(st.rbuf);
    free(st.fields);
    free(st.class_rows);
    free(st.x);
    free(st.y);
    return s;
}

nn_status nn_data_load_csv(const char *path, const nn_csv_options *opt, nn_dataset *out,
                           nn_error *err) {
    return nn_data_load_csv_info(path, opt, out, NULL, err);
}
