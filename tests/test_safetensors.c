/* test_safetensors.c — our safetensors writer and strict reader: round trips
 * of every dtype and of tricky metadata, the exact bytes of a small file,
 * and one test per kind of malformed file (each NN_E_PARSE with a message
 * naming the file and the fault). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_io.h"
#include "testutil.h"
#include "tu_io.h"

static char *dir, *path;

static void setup(void) {
    dir = tu_tmpdir();
    path = tu_path(dir, "t.safetensors");
}
static void teardown(void) {
    tu_rmtree(dir); /* frees dir */
    free(path);
}

TestSuite(st, .init = setup, .fini = teardown);

/* Write a file of an explicit 8-byte length, then header text, then data. */
static void write_raw(uint64_t hlen, const char *header, const void *data, size_t dlen) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)(hlen >> (8 * i));
    fwrite(len8, 1, 8, f);
    fwrite(header, 1, strlen(header), f);
    if (dlen) fwrite(data, 1, dlen, f);
    fclose(f);
}

/* A file whose length prefix matches the header. */
static void write_file(const char *header, const void *data, size_t dlen) {
    write_raw(strlen(header), header, data, dlen);
}

/* Read `path` expecting NN_E_PARSE and a message naming it and containing
 * each fragment (NULL-terminated). */
static void expect_bad(const char *const *words) {
    nn_st_file f;
    memset(&f, 0x5a, sizeof f);
    nn_error err = {0};
    nn_status st = nn_st_read(path, &f, &err);
    cr_assert_eq(st, NN_E_PARSE, "status %d: %s", st, err.msg);
    cr_assert_eq(err.status, NN_E_PARSE);
    cr_assert(strstr(err.msg, path) != NULL, "'%s' does not name the file", err.msg);
    cr_assert(strchr(err.msg, '\n') == NULL, "'%s' is not one line", err.msg);
    for (; *words; words++)
        cr_assert(strstr(err.msg, *words) != NULL, "'%s' lacks '%s'", err.msg, *words);
    cr_assert(f.tensors == NULL && f.meta == NULL && f.n_tensors == 0, "out not zeroed");
}

#define BAD_HEADER(header, data, dlen, ...)                                                        \
    do {                                                                                           \
        write_file(header, data, dlen);                                                            \
        expect_bad((const char *const[]){__VA_ARGS__, NULL});                                     \
    } while (0)

static const float F4[4] = {1.0f, -2.5f, 3.25f, 1e-30f};

/* ------------------------------------------------------------ good files */

Test(st, exact_bytes_of_a_small_file) {
    const float w[2] = {1.0f, -2.0f};
    nn_st_tensor t = {.name = "w", .dtype = NN_ST_F32, .ndim = 1, .shape = {2}, .data = w};
    nn_kv meta[] = {{"k", "v"}};
    FILE *fp = fopen(path, "wb");
    nn_error err = {0};
    cr_assert_eq(nn_st_write(fp, &t, 1, meta, 1, path, &err), NN_OK, "%s", err.msg);
    fclose(fp);
    size_t n;
    unsigned char *b = tu_read_all(path, &n);
    const char *json = "{\"__metadata__\":{\"k\":\"v\"},\"w\":{\"dtype\":\"F32\",\"shape\":[2],"
                       "\"data_offsets\":[0,8]}}";
    size_t jl = strlen(json), padded = (jl + 7) / 8 * 8;
    cr_assert_eq(n, 8 + padded + 8);
    cr_assert_eq(b[0], padded);
    for (int i = 1; i < 8; i++) cr_assert_eq(b[i], 0);
    cr_assert_arr_eq(b + 8, json, jl);
    for (size_t i = jl; i < padded; i++) cr_assert_eq(b[8 + i], ' ');
    const unsigned char data[8] = {0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0}; /* 1.0f, -2.0f LE */
    cr_assert_arr_eq(b + 8 + padded, data, 8);
    free(b);
}

Test(st, round_trip_every_dtype_and_metadata) {
    uint8_t u8[3] = {0, 127, 255};
    int16_t i16[2] = {-32768, 32767};
    double f64[2] = {0.1, -1e300};
    int64_t i64[3] = {INT64_MIN, -1, INT64_MAX};
    uint64_t u64[1] = {UINT64_MAX};
    uint16_t bf16[2] = {0x3f80, 0xc000};
    nn_st_tensor t[] = {
        {.name = "f32", .dtype = NN_ST_F32, .ndim = 2, .shape = {2, 2}, .data = F4},
        {.name = "u8", .dtype = NN_ST_U8, .ndim = 1, .shape = {3}, .data = u8},
        {.name = "i16", .dtype = NN_ST_I16, .ndim = 1, .shape = {2}, .data = i16},
        {.name = "f64 scalar", .dtype = NN_ST_F64, .ndim = 0, .data = f64},
        {.name = "f64", .dtype = NN_ST_F64, .ndim = 3, .shape = {1, 2, 1}, .data = f64},
        {.name = "empty", .dtype = NN_ST_F32, .ndim = 2, .shape = {0, 5}, .data = NULL},
        {.name = "i64", .dtype = NN_ST_I64, .ndim = 1, .shape = {3}, .data = i64},
        {.name = "u64", .dtype = NN_ST_U64, .ndim = 1, .shape = {1}, .data = u64},
        {.name = "bf16 \"quoted\" \\ é", .dtype = NN_ST_BF16, .ndim = 1, .shape = {2}, .data = bf16},
    };
    const size_t nt = sizeof t / sizeof t[0];
    nn_kv meta[] = {{"plain", "text"},
                    {"escapes", "quote \" backslash \\ newline \n tab \t ctl \x01 del \x7f"},
                    {"unicode", "π ≈ 3.14159, 🙂"},
                    {"empty", ""}};
    FILE *fp = fopen(path, "wb");
    nn_error err = {0};
    cr_assert_eq(nn_st_write(fp, t, nt, meta, 4, path, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(fclose(fp), 0);
    nn_st_file f;
    cr_assert_eq(nn_st_read(path, &f, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(f.n_tensors, nt);
    cr_assert_eq(f.n_meta, 4);
    cr_assert_eq(f.header_size % 8, 0);
    for (size_t i = 0; i < 4; i++) {
        cr_assert_str_eq(f.meta[i].key, meta[i].key);
        cr_assert_str_eq(f.meta[i].value, meta[i].value);
        cr_assert_str_eq(nn_st_meta_get(&f, meta[i].key), meta[i].value);
    }
    cr_assert_null(nn_st_meta_get(&f, "missing"));
    uint64_t at = 0;
    for (size_t i = 0; i < nt; i++) {
        const nn_st_tensor *r = nn_st_find(&f, t[i].name);
        cr_assert_not_null(r, "%s", t[i].name);
        cr_assert_eq(r, &f.tensors[i], "header order");
        cr_assert_eq(r->dtype, t[i].dtype);
        cr_assert_eq(r->ndim, t[i].ndim);
        for (size_t d = 0; d < t[i].ndim; d++) cr_assert_eq(r->shape[d], t[i].shape[d]);
        uint64_t bytes = nn_st_count(&t[i]) * nn_st_dtype_size(t[i].dtype);
        cr_assert_eq(r->nbytes, bytes);
        cr_assert_eq(r->offset, at, "tensors are laid out back to back");
        at += bytes;
        if (bytes) cr_assert_arr_eq(r->data, t[i].data, bytes); /* little-endian host */
    }
    cr_assert_eq(f.data_size, at);
    float back[4];
    cr_assert_eq(nn_st_read_f32(nn_st_find(&f, "f32"), back, 4, &err), NN_OK, "%s", err.msg);
    cr_assert_arr_eq(back, F4, sizeof F4);
    cr_assert_eq(nn_st_read_f32(nn_st_find(&f, "u8"), back, 3, &err), NN_E_PARSE);
    cr_assert_null(nn_st_find(&f, "nope"));
    /* the CRC of the data section as nn_st_data_crc32 predicts */
    cr_assert_eq(nn_crc32(0, f.data, f.data_size), nn_st_data_crc32(t, nt));
    nn_st_free(&f);
    nn_st_free(&f); /* zeroed: no-op */
    nn_st_free(NULL);
}

/* Headers written by other tools: any key order, whitespace, no metadata,
 * escapes we never write, and an empty file with no tensors. */
Test(st, foreign_headers) {
    const unsigned char d[12] = {0};
    write_file(" {\n \"b\" : {\"data_offsets\":[4, 12], \"shape\" : [ 2 ], \"dtype\":\"I32\"},\r\n"
               "\t\"a\\u00e9\\ud83d\\ude42\\/\":{\"shape\":[],\"dtype\":\"U32\",\"data_offsets\":[0,4]}}  ",
               d, 12);
    nn_st_file f;
    nn_error err = {0};
    cr_assert_eq(nn_st_read(path, &f, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(f.n_tensors, 2);
    cr_assert_str_eq(f.tensors[1].name, "a\xc3\xa9\xf0\x9f\x99\x82/");
    cr_assert_eq(f.tensors[1].ndim, 0);
    cr_assert_eq(nn_st_count(&f.tensors[1]), 1);
    cr_assert_eq(f.tensors[0].offset, 4);
    nn_st_free(&f);
    write_file("{}", NULL, 0);
    cr_assert_eq(nn_st_read(path, &f, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(f.n_tensors + f.n_meta, 0);
    nn_st_free(&f);
    write_file("{\"__metadata__\":{}}", NULL, 0);
    cr_assert_eq(nn_st_read(path, &f, &err), NN_OK, "%s", err.msg);
    nn_st_free(&f);
    /* parse from memory */
    unsigned char mem[8 + 2] = {2, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
    cr_assert_eq(nn_st_parse(mem, sizeof mem, "mem", &f, &err), NN_OK, "%s", err.msg);
    nn_st_free(&f);
}

Test(st, writer_rejects_bad_input) {
    FILE *fp = fopen(path, "wb");
    nn_error err = {0};
    nn_st_tensor t[2] = {{.name = "a", .dtype = NN_ST_F32, .ndim = 1, .shape = {4}, .data = F4},
                         {.name = "a", .dtype = NN_ST_F32, .ndim = 1, .shape = {4}, .data = F4}};
    cr_assert_eq(nn_st_write(fp, t, 2, NULL, 0, path, &err), NN_E_INVALID);
    cr_assert(strstr(err.msg, "twice"), "%s", err.msg);
    t[1].name = "__metadata__";
    cr_assert_eq(nn_st_write(fp, t, 2, NULL, 0, path, &err), NN_E_INVALID);
    t[1].name = "";
    cr_assert_eq(nn_st_write(fp, t, 2, NULL, 0, path, &err), NN_E_INVALID);
    t[1].name = "b";
    t[1].data = NULL;
    cr_assert_eq(nn_st_write(fp, t, 2, NULL, 0, path, &err), NN_E_INVALID);
    t[1].data = F4;
    t[1].dtype = NN_ST_DTYPE_COUNT;
    cr_assert_eq(nn_st_write(fp, t, 2, NULL, 0, path, &err), NN_E_INVALID);
    t[1].dtype = NN_ST_F32;
    nn_kv bad_utf8[] = {{"k", "\xff\xfe"}};
    cr_assert_eq(nn_st_write(fp, t, 2, bad_utf8, 1, path, &err), NN_E_INVALID);
    cr_assert(strstr(err.msg, "UTF-8"), "%s", err.msg);
    nn_kv dup[] = {{"k", "1"}, {"k", "2"}};
    cr_assert_eq(nn_st_write(fp, t, 2, dup, 2, path, &err), NN_E_INVALID);
    cr_assert_eq(ftell(fp), 0, "nothing may be written before the checks");
    fclose(fp);
}

Test(st, not_a_file) {
    nn_st_file f;
    nn_error err = {0};
    char *missing = tu_path(dir, "missing.safetensors");
    cr_assert_eq(nn_st_read(missing, &f, &err), NN_E_IO);
    cr_assert(strstr(err.msg, missing), "%s", err.msg);
    free(missing);
    cr_assert_eq(nn_st_read(dir, &f, &err), NN_E_IO);
    cr_assert(strstr(err.msg, "not a regular file"), "%s", err.msg);
    cr_assert_eq(nn_st_read("/dev/zero", &f, &err), NN_E_IO);
}

/* ------------------------------------------------------------ bad files */

Test(st, too_short_and_bad_lengths) {
    tu_write_bytes(path, "", 0);
    expect_bad((const char *const[]){"too short", "0 bytes", NULL});
    tu_write_bytes(path, "\x02\0\0\0\0\0\0", 7);
    expect_bad((const char *const[]){"too short", NULL});
    write_raw(100, "{}", NULL, 0);
    expect_bad((const char *const[]){"header length 100", "past the end", NULL});
    write_raw(UINT64_C(1) << 63, "{}", NULL, 0);
    expect_bad((const char *const[]){"header length 9223372036854775808", NULL});
    write_raw(UINT64_MAX, "{}", NULL, 0);
    expect_bad((const char *const[]){"header length 18446744073709551615", NULL});
    write_raw(0, "", NULL, 0);
    expect_bad((const char *const[]){"too small", NULL});
    /* a length within the file but above the 100 MB limit is not read */
    FILE *fp = fopen(path, "wb");
    unsigned char len8[8] = {0x01, 0xe1, 0xf5, 0x05, 0, 0, 0, 0}; /* 100000001 */
    fwrite(len8, 1, 8, fp);
    cr_assert_eq(fseek(fp, 100000001 + 8 - 1, SEEK_SET), 0); /* sparse */
    fputc(' ', fp);
    fclose(fp);
    expect_bad((const char *const[]){"exceeds the limit", NULL});
}

Test(st, malformed_json) {
    BAD_HEADER("[]", NULL, 0, "malformed", "expected '{'");
    BAD_HEADER("{", NULL, 0, "too small");
    BAD_HEADER("{ ", NULL, 0, "malformed", "the end of the header");
    BAD_HEADER("{\"a\":", NULL, 0, "malformed", "the end of the header");
    BAD_HEADER("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},}", F4, 4,
               "malformed", "expected a string");
    BAD_HEADER("{'a':1}", NULL, 0, "malformed", "expected a string");
    BAD_HEADER("{\"a\" {}}", NULL, 0, "expected ':'");
    BAD_HEADER("{\"__metadata__\":{\"k\":\"v\"} \"x\":1}", NULL, 0, "expected ','");
    BAD_HEADER("{} x", NULL, 0, "after the end");
    BAD_HEADER("{}{}", NULL, 0, "after the end");
    BAD_HEADER("{\"__metadata__\":{\"k\":\"a\\qb\"}}", NULL, 0, "invalid escape");
    BAD_HEADER("{\"__metadata__\":{\"k\":\"a\\u12\"}}", NULL, 0, "4 hex digits");
    BAD_HEADER("{\"__metadata__\":{\"k\":\"a\\u0000\"}}", NULL, 0, "NUL");
    BAD_HEADER("{\"__metadata__\":{\"k\":\"\\ud800\"}}", NULL, 0, "surrogate");
    BAD_HEADER("{\"__metadata__\":{\"k\":\"\\udc00\"}}", NULL, 0, "surrogate");
    BAD_HEADER("{\"__metadata__\":{\"k\":\"tab\there\"}}", NULL, 0, "control character");
    BAD_HEADER("{\"__metadata__\":{\"k\":\"\xc0\xaf\"}}", NULL, 0, "UTF-8");  /* overlong '/' */
    BAD_HEADER("{\"__metadata__\":{\"k\":\"\xed\xa0\x80\"}}", NULL, 0, "UTF-8"); /* surrogate */
    BAD_HEADER("{\"__metadata__\":{\"k\":\"\xf4\x90\x80\x80\"}}", NULL, 0, "UTF-8"); /* > U+10FFFF */
    BAD_HEADER("{\"__metadata__\":{\"k\":\"abc", NULL, 0, "unterminated");
    BAD_HEADER("{\"a\":{\"dtype\":\"F32\",\"shape\":[01],\"data_offsets\":[0,4]}}", F4, 4,
               "leading zero");
    BAD_HEADER("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.],\"data_offsets\":[0,4]}}", F4, 4,
               "no digit after '.'");
    BAD_HEADER("{\"a\":{\"dtype\":\"F32\",\"shape\":[1e],\"data_offsets\":[0,4]}}", F4, 4,
               "exponent");
    BAD_HEADER("{\"a\":{\"dtype\":\"F32\",\"shape\":[-],\"data_offsets\":[0,4]}}", F4, 4,
               "malformed number");
    BAD_HEADER("{\"a\":{\"dtype\":\"F32\",\"shape\":[NaN],\"data_offsets\":[0,4]}}", F4, 4,
               "expected a number");
    BAD_HEADER("{\"a\":{\"dtype\":\"F32\",\"shape\":[[1]],\"data_offsets\":[0,4]}}", F4, 4,
               "expected a number");
    BAD_HEADER("{\"a\":[]}", NULL, 0, "expected '{'");
    /* names quoted in messages cannot break the line or send terminal escapes
     * (found by fuzz_model) */
    BAD_HEADER("{\"line\\nbreak\\u001b[31m\":[]}", NULL, 0, "'line?break?[31m'");
    BAD_HEADER("{\"a\":true}", NULL, 0, "expected '{'", "a literal");
    /* a raw NUL inside the header */
    static const char nul[] = "{\"__metadata__\":{\"k\":\"a\0b\"}}";
    write_raw(sizeof nul - 1, nul, NULL, 0);
    FILE *fp = fopen(path, "r+b");
    fseek(fp, 8, SEEK_SET);
    fwrite(nul, 1, sizeof nul - 1, fp);
    fclose(fp);
    expect_bad((const char *const[]){"control character 0x00", NULL});
}

Test(st, schema_faults) {
    BAD_HEADER("{\"a\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}", F4, 4,
               "unknown dtype 'F33'", "'a'");
    BAD_HEADER("{\"a\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", F4, 4,
               "unknown dtype");
    BAD_HEADER("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", NULL, 0, "lacks its data_offsets");
    BAD_HEADER("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", F4, 4, "lacks its dtype");
    BAD_HEADER("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", F4, 4, "lacks its shape");
    BAD_HEADER("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
               F4, 4, "field 'dtype' twice");
    BAD_HEADER("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"extra\":1}}", F4,
               4, "unknown field 'extra'");
    BAD_HEADER("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", F4, 4,
               "non-negative integer");
    BAD_HEADER("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", F4, 4,
               "non-negative integer", "1.5");
    BAD_HEADER("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,18446744073709551616]}}",
               F4, 4, "larger than 2^64");
    BAD_HEADER("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}",
               F4, 4, "more than 8");
    BAD_HEADER("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", F4, 4,
               "[begin, end]");
    BAD_HEADER("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", F4, 8,
               "more than 2");
    BAD_HEADER("{\"__metadata__\":{\"k\":1}}", NULL, 0, "not a string");
    BAD_HEADER("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", NULL, 0, "'k' appears twice");
    BAD_HEADER("{\"__metadata__\":{},\"__metadata__\":{}}", NULL, 0, "__metadata__ appears twice");
    BAD_HEADER("{\"__metadata__\":[]}", NULL, 0, "expected '{'");
    BAD_HEADER("{\"\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", F4, 4,
               "empty tensor name");
}

Test(st, sizes_and_offsets) {
    /* element count disagrees with the byte range */
    BAD_HEADER("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", F4, 12,
               "'a'", "(2, 2)", "needs 16 bytes", "span 12");
    BAD_HEADER("{\"a\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,8]}}", F4, 8,
               "needs 16 bytes");
    BAD_HEADER("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}",
               NULL, 0, "more than 2^64");
    BAD_HEADER("{\"a\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952],\"data_offsets\":[0,0]}}",
               NULL, 0, "more than 2^64");
    /* end before begin */
    BAD_HEADER("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", F4, 8,
               "end before they begin");
    /* past the end of the data */
    BAD_HEADER("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", F4, 12,
               "past the end of the data (12 bytes)");
    BAD_HEADER("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[18446744073709551612,"
               "18446744073709551616]}}",
               F4, 4, "larger than 2^64");
    BAD_HEADER("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[18446744073709551611,"
               "18446744073709551615]}}",
               F4, 4, "past the end");
    /* overlapping */
    BAD_HEADER("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
               F4, 12, "overlaps");
    /* the same range twice */
    BAD_HEADER("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
               F4, 8, "overlaps");
    /* a gap */
    BAD_HEADER("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
               F4, 12, "4 unused bytes before tensor 'b'");
    BAD_HEADER("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", F4, 8,
               "unused bytes");
    /* trailing bytes */
    BAD_HEADER("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", F4, 16,
               "12 bytes after the last tensor");
    BAD_HEADER("{}", F4, 4, "4 bytes after");
    /* duplicate tensor names */
    BAD_HEADER("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
               "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
               F4, 8, "tensor 'a' appears twice");
}
