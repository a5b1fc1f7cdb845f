/* test_csv.c — nn_data_load_csv: good files (header or not, CRLF, CR, long
 * lines, label column, regression), the facts reported in nn_csv_info, and
 * every error, with the status and a message naming the file and the line.
 * Files live in a mkdtemp folder. */
#include <criterion/criterion.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn.h"

static char dir[256];
static char path[512];

static void make_dir(void) {
    snprintf(dir, sizeof dir, "%s/nn_csv_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void) {
    unlink(path);
    rmdir(dir);
}

TestSuite(csv, .init = make_dir, .fini = remove_dir);

/* Write `len` bytes of text to <dir>/<name>, which becomes `path`. */
static const char *write_bytes(const char *name, const char *text, size_t len) {
    unlink(path);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(text, 1, len, f), len);
    fclose(f);
    return path;
}

static const char *write_text(const char *name, const char *text) {
    return write_bytes(name, text, strlen(text));
}

/* Load path with opt, expecting OK. */
static void load_ok(const char *p, const nn_csv_options *opt, nn_dataset *ds) {
    nn_error err = {0};
    cr_assert_eq(nn_data_load_csv(p, opt, ds, &err), NN_OK, "%s", err.msg);
}

/* Load path expecting status st and a message with the file name and every
 * fragment in `words` (NULL-terminated). */
static void load_bad(const char *p, const nn_csv_options *opt, nn_status st,
                     const char *const *words) {
    nn_error err = {0};
    nn_dataset ds;
    memset(&ds, 0x5a, sizeof ds);
    cr_assert_eq(nn_data_load_csv(p, opt, &ds, &err), st, "status %d: %s", err.status, err.msg);
    cr_assert_eq(err.status, st);
    cr_assert(strstr(err.msg, p) != NULL, "message '%s' does not name the file", err.msg);
    for (; *words; words++)
        cr_assert(strstr(err.msg, *words) != NULL, "message '%s' lacks '%s'", err.msg, *words);
    cr_assert(ds.x == NULL && ds.y == NULL && ds.n == 0, "out not zeroed");
}

#define BAD(text, st, ...)                                                                         \
    do {                                                                                           \
        const char *const w_[] = {__VA_ARGS__, NULL};                                              \
        load_bad(write_text("bad.csv", text), NULL, st, w_);                                       \
    } while (0)

/* ---------------------------------------------------------- good files */

Test(csv, no_header) {
    nn_dataset ds;
    load_ok(write_text("a.csv", "1,2,0\n3.5,-4e1,1\n0.25, 7 ,1\n"), NULL, &ds);
    cr_assert_eq(ds.n, 3);
    cr_assert_eq(ds.features, 2);
    cr_assert_eq(ds.classes, 2);
    const float x[] = {1, 2, 3.5f, -40, 0.25f, 7}, y[] = {0, 1, 1};
    cr_assert_arr_eq(ds.x, x, sizeof x);
    cr_assert_arr_eq(ds.y, y, sizeof y);
    nn_dataset_free(&ds);
}

Test(csv, header_detected_and_explicit) {
    nn_dataset ds;
    load_ok(write_text("h.csv", "x1,x2,label\n1,2,0\n3,4,2\n"), NULL, &ds);
    cr_assert_eq(ds.n, 2);
    cr_assert_eq(ds.classes, 3);
    cr_assert_eq(ds.x[2], 3.0f);
    nn_dataset_free(&ds);
    nn_csv_options o = {.label_column = -1, .header = 1, .regression = 0};
    load_ok(write_text("h1.csv", "\"x1\",\"x2\",\"y\"\n1,2,0\n3,4,1\n"), &o, &ds);
    cr_assert_eq(ds.n, 2);
    nn_dataset_free(&ds);
    /* header = 1 skips the first line even if it is numeric */
    load_ok(write_text("h2.csv", "9,9,9\n1,2,0\n3,4,1\n"), &o, &ds);
    cr_assert_eq(ds.n, 2);
    cr_assert_eq(ds.x[0], 1.0f);
    nn_dataset_free(&ds);
}

Test(csv, crlf_bom_quotes_trailing_blank_lines) {
    nn_dataset ds;
    load_ok(write_text("crlf.csv", "\xEF\xBB\xBFx,y,c\r\n1,2,0\r\n\"3\",4,1\r\n\r\n  \r\n\n"), NULL,
            &ds);
    cr_assert_eq(ds.n, 2);
    cr_assert_eq(ds.features, 2);
    cr_assert_eq(ds.x[2], 3.0f);
    cr_assert_eq(ds.y[1], 1.0f);
    nn_dataset_free(&ds);
    load_ok(write_text("nonl.csv", "1,2,0\n3,4,1"), NULL, &ds); /* no final newline */
    cr_assert_eq(ds.n, 2);
    nn_dataset_free(&ds);
}

Test(csv, long_line) {
    enum { F = 14000 }; /* ~110k characters per line */
    const size_t cap = (size_t)F * 10 + 64;
    char *text = malloc(2 * cap);
    size_t len = 0;
    for (int row = 0; row < 2; row++) {
        for (int f = 0; f < F; f++) len += (size_t)sprintf(text + len, "%d.125,", f % 1000);
        len += (size_t)sprintf(text + len, "%d\n", row);
    }
    cr_assert_gt(len / 2, 100000);
    nn_dataset ds;
    load_ok(write_bytes("long.csv", text, len), NULL, &ds);
    free(text);
    cr_assert_eq(ds.n, 2);
    cr_assert_eq(ds.features, F);
    cr_assert_eq(ds.x[F - 1], (float)((F - 1) % 1000) + 0.125f);
    cr_assert_eq(ds.x[F + 999], 999.125f);
    cr_assert_eq(ds.y[1], 1.0f);
    nn_dataset_free(&ds);
}

Test(csv, label_column_and_regression) {
    nn_csv_options o = {.label_column = 0, .header = 0, .regression = 0};
    nn_dataset ds;
    load_ok(write_text("l0.csv", "1,0.5,0.25\n0,1.5,2.5\n"), &o, &ds);
    cr_assert_eq(ds.features, 2);
    cr_assert_eq(ds.y[0], 1.0f);
    cr_assert_eq(ds.x[0], 0.5f);
    cr_assert_eq(ds.x[3], 2.5f);
    nn_dataset_free(&ds);
    nn_csv_options r = {.label_column = -1, .header = -1, .regression = 1};
    load_ok(write_text("reg.csv", "a,b,t\n1,2,-0.75\n3,4,1e3\n"), &r, &ds);
    cr_assert_eq(ds.classes, 0);
    cr_assert_eq(ds.y[0], -0.75f);
    cr_assert_eq(ds.y[1], 1000.0f);
    nn_dataset_free(&ds);
}

/* Numbers are read in the C locale even when the program set another one. */
Test(csv, independent_of_locale) {
    const char *loc = setlocale(LC_NUMERIC, "de_DE.UTF-8");
    if (loc == NULL) loc = setlocale(LC_NUMERIC, "fr_FR.UTF-8");
    nn_dataset ds;
    load_ok(write_text("loc.csv", "1.5,0\n2.5,1\n"), NULL, &ds);
    cr_assert_eq(ds.x[0], 1.5f);
    nn_dataset_free(&ds);
    setlocale(LC_NUMERIC, "C");
}

/* ---------------------------------------------------------- errors */

Test(csv, cannot_open) {
    snprintf(path, sizeof path, "%s/missing.csv", dir);
    const char *const w[] = {"cannot open", NULL};
    load_bad(path, NULL, NN_E_IO, w);
    snprintf(path, sizeof path, "%s", dir); /* a folder: opens but cannot be read */
    nn_error err = {0};
    nn_dataset ds;
    cr_assert_eq(nn_data_load_csv(dir, NULL, &ds, &err), NN_E_IO, "%s", err.msg);
    cr_assert(strstr(err.msg, dir) != NULL);
    path[0] = '\0';
}

Test(csv, empty_file_and_header_only) {
    BAD("", NN_E_PARSE, "no data rows");
    BAD("\n\n", NN_E_PARSE, "no data rows");
    BAD("a,b,c\n", NN_E_PARSE, "no data rows");
}

Test(csv, missing_and_extra_fields) {
    BAD("1,2,0\n3,4,1\n5,1\n", NN_E_PARSE, "line 3", "missing", "expected 3");
    BAD("x,y,c\n1,2,0\n3,4,1,7\n", NN_E_PARSE, "line 3", "extra", "found 4");
    BAD("x,y,c\n1,2\n", NN_E_PARSE, "line 2", "as on line 1");
}

Test(csv, non_numeric_and_empty_fields) {
    BAD("1,2,0\n3,4,1\n5,6,0\n7,abc,1\n", NN_E_PARSE, "line 4", "column 2", "abc", "not a number");
    BAD("1,2,0\n3,,1\n", NN_E_PARSE, "line 2", "column 2", "empty");
    BAD("1,2,0\n3,4x,1\n", NN_E_PARSE, "line 2", "column 2");
    BAD("a,b,c\n1,2,0\nx,y,z\n", NN_E_PARSE, "line 3", "column 1");
    nn_csv_options o = {.label_column = -1, .header = 0, .regression = 0};
    const char *const w[] = {"line 1", "column 1", NULL};
    load_bad(write_text("hdr.csv", "a,b,c\n1,2,0\n"), &o, NN_E_PARSE, w);
}

Test(csv, nan_and_inf) {
    BAD("1,2,0\nnan,4,1\n", NN_E_PARSE, "line 2", "column 1", "finite");
    BAD("1,2,0\n3,inf,1\n", NN_E_PARSE, "line 2", "column 2", "finite");
    BAD("1,2,0\n3,4,1\n-Infinity,4,1\n", NN_E_PARSE, "line 3", "finite");
    /* beyond double: strtod gives Inf, but the cell is a number out of range */
    BAD("1,2,0\n1e999,4,1\n", NN_E_PARSE, "line 2", "column 1", "'1e999'", "float32 range");
    BAD("1,2,0\n3,4,1\n5,-1e400,0\n", NN_E_PARSE, "line 3", "column 2", "float32 range");
    BAD("1,2,0\n1e300,4,1\n", NN_E_PARSE, "line 2", "float32");
    BAD("1,2,0\n3.5e38,4,1\n", NN_E_PARSE, "line 2", "float32");
    BAD("1,2,1e400\n3,4,1\n", NN_E_PARSE, "line 1", "column 3", "float32 range");
}

Test(csv, bad_labels) {
    BAD("1,2,0\n3,4,-1\n", NN_E_PARSE, "line 2", "column 3", "non-negative integer");
    BAD("1,2,0\n3,4,1\n3,4,1.5\n", NN_E_PARSE, "line 3", "label");
    BAD("1,2,0\n3,4,0\n", NN_E_PARSE, "every label is 0", "one class", "at least 2 classes");
    BAD("1,2,1\n3,4,1\n5,6,1\n", NN_E_PARSE, "every label is 1", "one class");
    BAD("1,2,0\n3,4,1e9\n", NN_E_PARSE, "line 2", "column 3", "above the largest class index 4095");
    BAD("1,2,0\n3,4,16777215\n", NN_E_PARSE, "line 2", "'16777215'", "at most 4096 classes");
    BAD("1,2,0\n3,4,4096\n", NN_E_PARSE, "line 2", "4095");
}

/* Labels 0..4095 are accepted; classes that never occur are reported in
 * nn_csv_info, not printed and not an error. */
Test(csv, missing_classes_reported) {
    nn_dataset ds;
    nn_csv_info info;
    nn_error err = {0};
    const char *p = write_text("gaps.csv", "x,y,label\n1,2,0\n3,4,2\n5,6,5\n7,8,2\n");
    cr_assert_eq(nn_data_load_csv_info(p, NULL, &ds, &info, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(ds.classes, 6);
    cr_assert_eq(info.missing_classes, 3);
    cr_assert_eq(info.lines, 5);
    cr_assert_eq(info.header, 1);
    cr_assert(strstr(info.warning, p) && strstr(info.warning, "3 of the 6 classes") &&
                  strstr(info.warning, "(1, 3, 4)"),
              "%s", info.warning);
    nn_dataset_free(&ds);
    /* many missing: the list is cut */
    p = write_text("wide.csv", "1,0\n2,4095\n");
    cr_assert_eq(nn_data_load_csv_info(p, NULL, &ds, &info, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(ds.classes, 4096);
    cr_assert_eq(info.missing_classes, 4094);
    cr_assert(strstr(info.warning, "1, 2, 3, 4, 5, 6, 7, 8 and 4086 more"), "%s", info.warning);
    cr_assert_lt(strlen(info.warning), sizeof info.warning - 1);
    nn_dataset_free(&ds);
    /* none missing, regression */
    p = write_text("full.csv", "1,1\n2,0\n");
    cr_assert_eq(nn_data_load_csv_info(p, NULL, &ds, &info, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(info.missing_classes, 0);
    cr_assert_str_eq(info.warning, "");
    cr_assert_eq(info.header, 0);
    nn_dataset_free(&ds);
    nn_csv_options r = {.label_column = -1, .header = 0, .regression = 1};
    p = write_text("reg.csv", "1,7\n2,7\n");
    cr_assert_eq(nn_data_load_csv_info(p, &r, &ds, &info, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(ds.classes, 0);
    cr_assert_str_eq(info.warning, "");
    nn_dataset_free(&ds);
}

/* Old Mac line endings (a lone CR) are line endings, also mixed with CRLF. */
Test(csv, cr_line_endings) {
    nn_dataset ds;
    load_ok(write_text("cr.csv", "x,y,c\r1,2,0\r3,4,1\r"), NULL, &ds);
    cr_assert_eq(ds.n, 2);
    cr_assert_eq(ds.x[2], 3.0f);
    cr_assert_eq(ds.y[1], 1.0f);
    nn_dataset_free(&ds);
    load_ok(write_text("mixed.csv", "1,2,0\r\n3,4,1\r5,6,0\n7,8,1\r\r\n\r"), NULL, &ds);
    cr_assert_eq(ds.n, 4);
    cr_assert_eq(ds.x[6], 7.0f);
    nn_dataset_free(&ds);
    /* line numbers count CR-only lines */
    BAD("1,2,0\r3,4,1\r5,x,1\r", NN_E_PARSE, "line 3", "column 2");
    BAD("1,2,0\r\n3,4,1\r\n5,6,1,1\r\n", NN_E_PARSE, "line 3", "extra");
}

/* A line is at most NN_CSV_MAX_LINE bytes: longer ones, and files that are
 * not text, fail fast with the reason instead of filling memory. */
Test(csv, line_limit_and_binary_files) {
    const size_t max = NN_CSV_MAX_LINE;
    char *text = malloc(2 * max + 16);
    /* a line of exactly the limit is fine ("1,2," + blanks + "0") */
    memcpy(text, "1,2,", 4);
    memset(text + 4, ' ', max - 5);
    text[max - 1] = '1';
    memcpy(text + max, "\n3,4,0\n", 7);
    nn_dataset ds;
    load_ok(write_bytes("max.csv", text, max + 7), NULL, &ds);
    cr_assert_eq(ds.n, 2);
    nn_dataset_free(&ds);
    /* one byte more */
    memcpy(text, "1,2,", 4);
    memset(text + 4, ' ', max - 4);
    text[max] = '1';
    memcpy(text + max + 1, "\n", 1);
    load_bad(write_bytes("long.csv", text, max + 2), NULL, NN_E_PARSE,
             (const char *const[]){"line 1", "longer than 1048576 bytes", "limit", NULL});
    /* a 2 MiB line with no end, on line 3 */
    memcpy(text, "1,0\n2,1\n", 8);
    memset(text + 8, '7', 2 * max);
    load_bad(write_bytes("endless.csv", text, 2 * max + 8), NULL, NN_E_PARSE,
             (const char *const[]){"line 3", "longer than", NULL});
    free(text);
    /* /dev/zero is endless: the NUL byte stops it at once */
    nn_error err = {0};
    cr_assert_eq(nn_data_load_csv("/dev/zero", NULL, &ds, &err), NN_E_PARSE);
    cr_assert(strstr(err.msg, "/dev/zero: line 1: NUL byte"), "%s", err.msg);
    path[0] = '\0';
}

Test(csv, label_column_out_of_range) {
    nn_csv_options o = {.label_column = 3, .header = -1, .regression = 0};
    const char *const w[] = {"label_column 3", "line 1", NULL};
    load_bad(write_text("lc.csv", "1,2,0\n3,4,1\n"), &o, NN_E_INVALID, w);
    o.label_column = -2;
    const char *const w2[] = {"label_column", NULL};
    load_bad(write_text("lc.csv", "1,2,0\n3,4,1\n"), &o, NN_E_INVALID, w2);
}

Test(csv, single_column_blank_line_nul_and_options) {
    BAD("1\n2\n", NN_E_PARSE, "line 1", "at least 2");
    BAD("1,2,0\n\n3,4,1\n", NN_E_PARSE, "line 2", "blank line");
    load_bad(write_bytes("nul.csv", "1,2,0\n3,\0,1\n", 12), NULL, NN_E_PARSE,
             (const char *const[]){"line 2", "NUL", NULL});
    nn_csv_options o = {.label_column = -1, .header = 2, .regression = 0};
    load_bad(write_text("o.csv", "1,2,0\n"), &o, NN_E_INVALID,
             (const char *const[]){"header", NULL});
    o.header = -1;
    o.regression = 5;
    load_bad(write_text("o.csv", "1,2,0\n"), &o, NN_E_INVALID,
             (const char *const[]){"regression", NULL});
    nn_error err = {0};
    cr_assert_eq(nn_data_load_csv(NULL, NULL, NULL, &err), NN_E_INVALID);
}
