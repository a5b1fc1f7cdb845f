/* safetensors.c — our own safetensors reader and writer (no dependency).
 *
 * Reader: the 8-byte length, then a schema-directed walk of the JSON header
 * with the strict tokenizer of json.c, then the byte ranges. Allocations:
 * the decoded-string arena (header size + 1), the tensor and metadata tables
 * (bounded by what the header can describe: each entry takes at least 8
 * bytes of JSON), and, for nn_st_read, the file itself. */
#include "io/io_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const DTYPE_NAMES[NN_ST_DTYPE_COUNT] = {
    "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16",
    "BF16", "I32", "U32", "F32", "F64", "I64", "U64"};
static const unsigned char DTYPE_SIZES[NN_ST_DTYPE_COUNT] = {1, 1, 1, 1, 1, 2, 2, 2,
                                                             2, 4, 4, 4, 8, 8, 8};

const char *nn_st_dtype_name(nn_st_dtype t) {
    return (unsigned)t < NN_ST_DTYPE_COUNT ? DTYPE_NAMES[t] : "unknown";
}

size_t nn_st_dtype_size(nn_st_dtype t) {
    return (unsigned)t < NN_ST_DTYPE_COUNT ? DTYPE_SIZES[t] : 0;
}

uint64_t nn_st_count(const nn_st_tensor *t) {
    uint64_t n = 1;
    for (size_t d = 0; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

/* Element count of a shape; *overflow = 1 (and 0 returned) when it
 * exceeds 2^64 - 1. A zero dimension makes the count 0 whatever the others. */
static uint64_t shape_count(const uint64_t *shape, size_t ndim, int *overflow) {
    *overflow = 0;
    for (size_t d = 0; d < ndim; d++)
        if (shape[d] == 0) return 0;
    uint64_t n = 1;
    for (size_t d = 0; d < ndim; d++) {
        if (n > UINT64_MAX / shape[d]) {
            *overflow = 1;
            return 0;
        }
        n *= shape[d];
    }
    return n;
}

/* Private allocations of a parsed file. */
typedef struct st_owned {
    uint8_t *file;  /* nn_st_read's copy of the file, or NULL */
    char *arena;    /* decoded strings */
} st_owned;

void nn_st_free(nn_st_file *f) {
    if (f == NULL) return;
    st_owned *o = f->owned_;
    if (o != NULL) {
        free(o->file);
        free(o->arena);
        free(o);
    }
    free(f->tensors);
    free(f->meta);
    memset(f, 0, sizeof *f);
}

const nn_st_tensor *nn_st_find(const nn_st_file *f, const char *name) {
    for (size_t i = 0; i < f->n_tensors; i++)
        if (strcmp(f->tensors[i].name, name) == 0) return &f->tensors[i];
    return NULL;
}

const char *nn_st_meta_get(const nn_st_file *f, const char *key) {
    for (size_t i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta[i].key, key) == 0) return f->meta[i].value;
    return NULL;
}

nn_status nn_st_read_f32(const nn_st_tensor *t, float *dst, size_t count, nn_error *err) {
    if (t->dtype != NN_ST_F32)
        return io_error(err, NN_E_PARSE, "tensor '%s' is %s, expected F32", t->name,
                        nn_st_dtype_name(t->dtype));
    if (nn_st_count(t) != count || t->nbytes != (uint64_t)count * 4)
        return io_error(err, NN_E_INVALID, "tensor '%s': %llu elements, %zu requested",
                        t->name, (unsigned long long)nn_st_count(t), count);
    io_le_load_f32(dst, t->data, count);
    return NN_OK;
}

/* ------------------------------------------------------------------ reader */

/* Grow a table of elements of `size` bytes to hold n + 1. */
static int grow(void **items, size_t *cap, size_t n, size_t size) {
    if (n < *cap) return 1;
    size_t c = *cap ? *cap * 2 : 16;
    if (c > SIZE_MAX / size) return 0;
    void *p = realloc(*items, c * size);
    if (p == NULL) return 0;
    *items = p;
    *cap = c;
    return 1;
}

/* Header parse state. */
typedef struct st_parse {
    io_json j;
    nn_st_file *f;
    size_t tensor_cap, meta_cap;
    nn_error *err;
} st_parse;

/* "__metadata__": an object of string values. */
static nn_status parse_metadata(st_parse *p) {
    io_json *j = &p->j;
    nn_status st = io_json_expect(j, '{', "to open __metadata__", p->err);
    if (st != NN_OK) return st;
    if (io_json_accept(j, '}')) return NN_OK;
    for (;;) {
        if (!grow((void **)&p->f->meta, &p->meta_cap, p->f->n_meta, sizeof(nn_kv)))
            return io_error(p->err, NN_E_NOMEM, "%s: out of memory reading the header",
                            j->name);
        nn_kv *kv = &p->f->meta[p->f->n_meta];
        size_t len;
        if ((st = io_json_string(j, &kv->key, &len, "as a __metadata__ key", p->err)) != NN_OK ||
            (st = io_json_expect(j, ':', "after a __metadata__ key", p->err)) != NN_OK)
            return st;
        if (io_json_peek(j) != '"')
            return io_json_fail(j, p->err, "__metadata__ value of '%.64s' is not a string",
                                kv->key);
        if ((st = io_json_string(j, &kv->value, &len, "as a __metadata__ value", p->err)) != NN_OK)
            return st;
        p->f->n_meta++;
        if (io_json_accept(j, '}')) return NN_OK;
        if ((st = io_json_expect(j, ',', "or '}' in __metadata__", p->err)) != NN_OK) return st;
    }
}

/* A JSON array of at most `max` non-negative integers into v; *n = count. */
static nn_status parse_u64_array(st_parse *p, uint64_t *v, size_t max, size_t *n,
                                 const char *what) {
    io_json *j = &p->j;
    char where[128];
    snprintf(where, sizeof where, "to open %s", what);
    nn_status st = io_json_expect(j, '[', where, p->err);
    if (st != NN_OK) return st;
    *n = 0;
    if (io_json_accept(j, ']')) return NN_OK;
    for (;;) {
        if (*n == max)
            return io_json_fail(j, p->err, "%s has more than %zu entries", what, max);
        if ((st = io_json_u64(j, &v[*n], what, p->err)) != NN_OK) return st;
        (*n)++;
        if (io_json_accept(j, ']')) return NN_OK;
        snprintf(where, sizeof where, "or ']' in %s", what);
        if ((st = io_json_expect(j, ',', where, p->err)) != NN_OK) return st;
    }
}

/* One tensor entry {"dtype", "shape", "data_offsets"} (any order, each once). */
static nn_status parse_tensor(st_parse *p, nn_st_tensor *t) {
    io_json *j = &p->j;
    char what[160];
    snprintf(what, sizeof what, "for tensor '%.64s'", t->name);
    nn_status st = io_json_expect(j, '{', what, p->err);
    if (st != NN_OK) return st;
    unsigned seen = 0;
    uint64_t offsets[2];
    if (!io_json_accept(j, '}')) {
        for (;;) {
            const char *key;
            size_t len;
            if ((st = io_json_string(j, &key, &len, what, p->err)) != NN_OK ||
                (st = io_json_expect(j, ':', "after a field name", p->err)) != NN_OK)
                return st;
            unsigned bit = strcmp(key, "dtype") == 0          ? 1u
                           : strcmp(key, "shape") == 0        ? 2u
                           : strcmp(key, "data_offsets") == 0 ? 4u
                                                              : 0u;
            if (bit == 0)
                return io_json_fail(j, p->err,
                                    "tensor '%.64s' has an unknown field '%.32s' (expected "
                                    "dtype, shape, data_offsets)",
                                    t->name, key);
            if (seen & bit)
                return io_json_fail(j, p->err, "tensor '%.64s' has field '%s' twice", t->name,
                                    key);
            seen |= bit;
            if (bit == 1) {
                const char *dt;
                if ((st = io_json_string(j, &dt, &len, "as the dtype", p->err)) != NN_OK) return st;
                int found = -1;
                for (int i = 0; i < NN_ST_DTYPE_COUNT; i++)
                    if (strcmp(dt, DTYPE_NAMES[i]) == 0) found = i;
                if (found < 0)
                    return io_error(p->err, NN_E_PARSE,
                                    "%s: tensor '%.64s' has unknown dtype '%.32s'", j->name,
                                    t->name, dt);
                t->dtype = (nn_st_dtype)found;
            } else if (bit == 2) {
                snprintf(what, sizeof what, "the shape of tensor '%.64s'", t->name);
                if ((st = parse_u64_array(p, t->shape, NN_ST_MAX_DIMS, &t->ndim, what)) != NN_OK)
                    return st;
            } else {
                size_t n = 0;
                snprintf(what, sizeof what, "the data_offsets of tensor '%.64s'", t->name);
                if ((st = parse_u64_array(p, offsets, 2, &n, what)) != NN_OK) return st;
                if (n != 2)
                    return io_json_fail(j, p->err, "%s must be [begin, end]", what);
            }
            if (io_json_accept(j, '}')) break;
            if ((st = io_json_expect(j, ',', "or '}' in a tensor entry", p->err)) != NN_OK)
                return st;
        }
    }
    if (seen != 7)
        return io_error(p->err, NN_E_PARSE, "%s: tensor '%.64s' lacks its %s", j->name,
                        t->name, !(seen & 1) ? "dtype" : !(seen & 2) ? "shape" : "data_offsets");
    if (offsets[1] < offsets[0])
        return io_error(p->err, NN_E_PARSE,
                        "%s: tensor '%.64s' has data_offsets [%llu, %llu] that end before "
                        "they begin",
                        j->name, t->name, (unsigned long long)offsets[0],
                        (unsigned long long)offsets[1]);
    t->offset = offsets[0];
    t->nbytes = offsets[1] - offsets[0];
    int overflow;
    uint64_t count = shape_count(t->shape, t->ndim, &overflow);
    const uint64_t size = DTYPE_SIZES[t->dtype];
    if (overflow || count > UINT64_MAX / size || count * size != t->nbytes) {
        char shp[200] = "(", need[32] = "more than 2^64";
        for (size_t d = 0; d < t->ndim; d++) {
            size_t l = strlen(shp);
            snprintf(shp + l, sizeof shp - l, "%s%llu", d ? ", " : "",
                     (unsigned long long)t->shape[d]);
        }
        size_t l = strlen(shp);
        snprintf(shp + l, sizeof shp - l, ")");
        if (!overflow && count <= UINT64_MAX / size)
            snprintf(need, sizeof need, "%llu", (unsigned long long)(count * size));
        return io_error(p->err, NN_E_PARSE,
                        "%s: tensor '%.64s' of shape %s and dtype %s needs %s bytes, but its "
                        "data_offsets span %llu",
                        j->name, t->name, shp, DTYPE_NAMES[t->dtype], need,
                        (unsigned long long)t->nbytes);
    }
    return NN_OK;
}

/* The top-level object. */
static nn_status parse_header(st_parse *p) {
    io_json *j = &p->j;
    int have_meta = 0;
    nn_status st = io_json_expect(j, '{', "at the start of the header", p->err);
    if (st != NN_OK) return st;
    if (!io_json_accept(j, '}')) {
        for (;;) {
            const char *key;
            size_t len;
            if ((st = io_json_string(j, &key, &len, "as a tensor name", p->err)) != NN_OK ||
                (st = io_json_expect(j, ':', "after a tensor name", p->err)) != NN_OK)
                return st;
            if (strcmp(key, "__metadata__") == 0) {
                if (have_meta)
                    return io_json_fail(j, p->err, "__metadata__ appears twice");
                have_meta = 1;
                if ((st = parse_metadata(p)) != NN_OK) return st;
            } else {
                if (len == 0) return io_json_fail(j, p->err, "empty tensor name");
                if (!grow((void **)&p->f->tensors, &p->tensor_cap, p->f->n_tensors,
                          sizeof(nn_st_tensor)))
                    return io_error(p->err, NN_E_NOMEM, "%s: out of memory reading the header",
                                    j->name);
                nn_st_tensor *t = &p->f->tensors[p->f->n_tensors];
                memset(t, 0, sizeof *t);
                t->name = key;
                if ((st = parse_tensor(p, t)) != NN_OK) return st;
                p->f->n_tensors++;
            }
            if (io_json_accept(j, '}')) break;
            if ((st = io_json_expect(j, ',', "or '}' after a header entry", p->err)) != NN_OK)
                return st;
        }
    }
    return io_json_end(j, p->err);
}

/* qsort comparators. */
static int cmp_str_ptr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_range(const void *a, const void *b) {
    const nn_st_tensor *x = *(const nn_st_tensor *const *)a, *y = *(const nn_st_tensor *const *)b;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    if (x->nbytes != y->nbytes) return x->nbytes < y->nbytes ? -1 : 1;
    return 0;
}

/* The first name that appears twice among n strings, or NULL (sorts a copy). */
static nn_status find_duplicate(const char **names, size_t n, const char **dup, nn_error *err,
                                const char *path) {
    *dup = NULL;
    if (n < 2) return NN_OK;
    const char **s = malloc(n * sizeof *s); /* (n) */
    if (s == NULL) return io_error(err, NN_E_NOMEM, "%s: out of memory", path);
    memcpy(s, names, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_str_ptr);
    for (size_t i = 1; i < n && *dup == NULL; i++)
        if (strcmp(s[i - 1], s[i]) == 0) *dup = s[i];
    free(s);
    return NN_OK;
}

/* Names unique, ranges tiling [0, data_size). */
static nn_status check_layout(nn_st_file *f, const char *name, nn_error *err) {
    const size_t n = f->n_tensors;
    const size_t m = f->n_meta;
    const size_t most = n > m ? n : m;
    const char **names = malloc((most ? most : 1) * sizeof *names); /* (most) */
    if (names == NULL) return io_error(err, NN_E_NOMEM, "%s: out of memory", name);
    const char *dup;
    for (size_t i = 0; i < n; i++) names[i] = f->tensors[i].name;
    nn_status st = find_duplicate(names, n, &dup, err, name);
    if (st == NN_OK && dup != NULL)
        st = io_error(err, NN_E_PARSE, "%s: tensor '%.64s' appears twice in the header", name,
                      dup);
    if (st == NN_OK) {
        for (size_t i = 0; i < m; i++) names[i] = f->meta[i].key;
        st = find_duplicate(names, m, &dup, err, name);
        if (st == NN_OK && dup != NULL)
            st = io_error(err, NN_E_PARSE, "%s: __metadata__ key '%.64s' appears twice", name,
                          dup);
    }
    free(names);
    if (st != NN_OK) return st;

    for (size_t i = 0; i < n; i++) {
        const nn_st_tensor *t = &f->tensors[i];
        if (t->offset > f->data_size || t->nbytes > f->data_size - t->offset)
            return io_error(err, NN_E_PARSE,
                            "%s: tensor '%.64s' has data_offsets [%llu, %llu] past the end "
                            "of the data (%llu bytes)",
                            name, t->name, (unsigned long long)t->offset,
                            (unsigned long long)(t->offset + t->nbytes),
                            (unsigned long long)f->data_size);
    }
    const nn_st_tensor **order = malloc((n ? n : 1) * sizeof *order); /* (n) by range */
    if (order == NULL) return io_error(err, NN_E_NOMEM, "%s: out of memory", name);
    for (size_t i = 0; i < n; i++) order[i] = &f->tensors[i];
    qsort(order, n, sizeof *order, cmp_range);
    uint64_t at = 0;
    for (size_t i = 0; i < n && st == NN_OK; i++) {
        const nn_st_tensor *t = order[i];
        if (t->offset < at)
            st = io_error(err, NN_E_PARSE,
                          "%s: tensor '%.64s' (bytes %llu-%llu) overlaps tensor '%.64s' "
                          "(which ends at %llu)",
                          name, t->name, (unsigned long long)t->offset,
                          (unsigned long long)(t->offset + t->nbytes), order[i - 1]->name,
                          (unsigned long long)at);
        else if (t->offset > at)
            st = io_error(err, NN_E_PARSE,
                          "%s: %llu unused bytes before tensor '%.64s' (data_offsets must "
                          "leave no gaps)",
                          name, (unsigned long long)(t->offset - at), t->name);
        at = t->offset + t->nbytes;
    }
    free(order);
    if (st == NN_OK && at != f->data_size)
        st = io_error(err, NN_E_PARSE,
                      "%s: %llu bytes after the last tensor's data (the data section is %llu "
                      "bytes, the tensors cover %llu)",
                      name, (unsigned long long)(f->data_size - at),
                      (unsigned long long)f->data_size, (unsigned long long)at);
    for (size_t i = 0; i < n; i++) f->tensors[i].data = f->data + f->tensors[i].offset;
    return st;
}

nn_status nn_st_parse(const void *bytes, size_t size, const char *name, nn_st_file *out,
                      nn_error *err) {
    if (out == NULL || (bytes == NULL && size > 0))
        return io_error(err, NN_E_INVALID, "nn_st_parse: NULL argument");
    memset(out, 0, sizeof *out);
    if (name == NULL) name = "safetensors data";
    const uint8_t *b = bytes;
    if (size < 8)
        return io_error(err, NN_E_PARSE,
                        "%s: too short for a safetensors file (%zu bytes; it starts with an "
                        "8-byte header length)",
                        name, size);
    const uint64_t n = io_le64_load(b);
    if (n > size - 8)
        return io_error(err, NN_E_PARSE,
                        "%s: header length %llu runs past the end of the file (%zu bytes): "
                        "not a safetensors file, or a truncated one",
                        name, (unsigned long long)n, size);
    if (n > NN_ST_MAX_HEADER)
        return io_error(err, NN_E_PARSE, "%s: header length %llu exceeds the limit of %u bytes",
                        name, (unsigned long long)n, NN_ST_MAX_HEADER);
    if (n < 2)
        return io_error(err, NN_E_PARSE, "%s: header length %llu is too small for a JSON object",
                        name, (unsigned long long)n);
    st_owned *o = calloc(1, sizeof *o);
    if (o != NULL) o->arena = malloc((size_t)n + 1); /* (n + 1) decoded strings */
    if (o == NULL || o->arena == NULL) {
        free(o);
        return io_error(err, NN_E_NOMEM, "%s: cannot allocate %llu bytes for the header", name,
                        (unsigned long long)n);
    }
    out->owned_ = o;
    out->header_size = n;
    out->data = b + 8 + n;
    out->data_size = size - 8 - n;
    st_parse p = {.j = {.s = (const char *)b + 8, .len = (size_t)n, .name = name,
                        .arena = o->arena},
                  .f = out,
                  .err = err};
    nn_status st = parse_header(&p);
    if (st == NN_OK) st = check_layout(out, name, err);
    if (st != NN_OK) nn_st_free(out);
    return st;
}

nn_status nn_st_read(const char *path, nn_st_file *out, nn_error *err) {
    if (out == NULL || path == NULL)
        return io_error(err, NN_E_INVALID, "nn_st_read: NULL argument");
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return io_error(err, NN_E_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return io_error(err, NN_E_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return io_error(err, NN_E_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)sb.st_size > SIZE_MAX - 1) {
        close(fd);
        return io_error(err, NN_E_NOMEM, "%s: too large (%lld bytes)", path,
                        (long long)sb.st_size);
    }
    const size_t size = (size_t)sb.st_size;
    uint8_t *buf = malloc(size + 1); /* (size) the whole file */
    if (buf == NULL) {
        close(fd);
        return io_error(err, NN_E_NOMEM, "%s: cannot allocate %zu bytes to read it", path,
                        size);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            int e = r < 0 ? errno : 0;
            close(fd);
            free(buf);
            return io_error(err, NN_E_IO, "%s: read error after %zu of %zu bytes: %s", path,
                            got, size, e ? strerror(e) : "the file got shorter");
        }
        got += (size_t)r;
    }
    close(fd);
    nn_status st = nn_st_parse(buf, size, path, out, err);
    if (st != NN_OK) {
        free(buf);
        return st;
    }
    ((st_owned *)out->owned_)->file = buf;
    return NN_OK;
}

/* ------------------------------------------------------------------ writer */

/* CRC accumulator callback. */
static int crc_piece(void *ctx, const uint8_t *bytes, size_t len) {
    uint32_t *crc = ctx;
    *crc = nn_crc32(*crc, bytes, len);
    return 0;
}

uint32_t nn_st_data_crc32(const nn_st_tensor *t, size_t n) {
    uint32_t crc = 0;
    for (size_t i = 0; i < n; i++) {
        int overflow;
        uint64_t count = shape_count(t[i].shape, t[i].ndim, &overflow);
        if (!overflow && count > 0 && t[i].data != NULL)
            io_le_pieces(t[i].data, count, nn_st_dtype_size(t[i].dtype), crc_piece, &crc);
    }
    return crc;
}

/* fwrite callback. */
static int write_piece(void *ctx, const uint8_t *bytes, size_t len) {
    return fwrite(bytes, 1, len, ctx) != len;
}

/* Check names, dtypes and sizes of the tensors and metadata to write. */
static nn_status check_write(const nn_st_tensor *t, size_t n, const nn_kv *meta, size_t n_meta,
                             const char *name, nn_error *err) {
    for (size_t i = 0; i < n; i++) {
        const char *tn = t[i].name;
        if (tn == NULL || tn[0] == '\0' || strcmp(tn, "__metadata__") == 0 ||
            !io_utf8_valid(tn, strlen(tn)))
            return io_error(err, NN_E_INVALID,
                            "%s: tensor %zu: name must be non-empty UTF-8 and not "
                            "__metadata__",
                            name, i);
        if ((unsigned)t[i].dtype >= NN_ST_DTYPE_COUNT || t[i].ndim > NN_ST_MAX_DIMS)
            return io_error(err, NN_E_INVALID, "%s: tensor '%.64s': bad dtype or rank", name,
                            tn);
        int overflow;
        uint64_t count = shape_count(t[i].shape, t[i].ndim, &overflow);
        if (overflow || count > UINT64_MAX / 8 / (n + 1))
            return io_error(err, NN_E_INVALID, "%s: tensor '%.64s' is too large", name, tn);
        if (count > 0 && t[i].data == NULL)
            return io_error(err, NN_E_INVALID, "%s: tensor '%.64s' has no data", name, tn);
    }
    for (size_t i = 0; i < n_meta; i++)
        if (meta[i].key == NULL || meta[i].value == NULL ||
            !io_utf8_valid(meta[i].key, strlen(meta[i].key)) ||
            !io_utf8_valid(meta[i].value, strlen(meta[i].value)))
            return io_error(err, NN_E_INVALID,
                            "%s: metadata entry %zu ('%.64s') is not a valid UTF-8 key and "
                            "value",
                            name, i, meta[i].key ? meta[i].key : "(null)");
    const size_t most = n > n_meta ? n : n_meta;
    const char **names = malloc((most ? most : 1) * sizeof *names); /* (most) */
    if (names == NULL) return io_error(err, NN_E_NOMEM, "%s: out of memory", name);
    const char *dup;
    for (size_t i = 0; i < n; i++) names[i] = t[i].name;
    nn_status st = find_duplicate(names, n, &dup, err, name);
    if (st == NN_OK && dup != NULL)
        st = io_error(err, NN_E_INVALID, "%s: tensor name '%.64s' given twice", name, dup);
    if (st == NN_OK) {
        for (size_t i = 0; i < n_meta; i++) names[i] = meta[i].key;
        st = find_duplicate(names, n_meta, &dup, err, name);
        if (st == NN_OK && dup != NULL)
            st = io_error(err, NN_E_INVALID, "%s: metadata key '%.64s' given twice", name, dup);
    }
    free(names);
    return st;
}

nn_status nn_st_write(FILE *fp, const nn_st_tensor *t, size_t n, const nn_kv *meta,
                      size_t n_meta, const char *name, nn_error *err) {
    if (name == NULL) name = "safetensors output";
    if (fp == NULL || (n > 0 && t == NULL) || (n_meta > 0 && meta == NULL))
        return io_error(err, NN_E_INVALID, "%s: nn_st_write: NULL argument", name);
    nn_status st = check_write(t, n, meta, n_meta, name, err);
    if (st != NN_OK) return st;
    io_str h = {0};
    io_str_add(&h, "{", 1);
    if (n_meta > 0) {
        io_str_adds(&h, "\"__metadata__\":{");
        for (size_t i = 0; i < n_meta; i++) {
            if (i > 0) io_str_add(&h, ",", 1);
            io_str_add_json(&h, meta[i].key);
            io_str_add(&h, ":", 1);
            io_str_add_json(&h, meta[i].value);
        }
        io_str_add(&h, "}", 1);
    }
    uint64_t at = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 || n_meta > 0) io_str_add(&h, ",", 1);
        io_str_add_json(&h, t[i].name);
        io_str_addf(&h, ":{\"dtype\":\"%s\",\"shape\":[", DTYPE_NAMES[t[i].dtype]);
        for (size_t d = 0; d < t[i].ndim; d++)
            io_str_addf(&h, "%s%llu", d ? "," : "", (unsigned long long)t[i].shape[d]);
        const uint64_t bytes = nn_st_count(&t[i]) * DTYPE_SIZES[t[i].dtype];
        io_str_addf(&h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)at,
                    (unsigned long long)(at + bytes));
        at += bytes;
    }
    io_str_add(&h, "}", 1);
    while (!h.failed && h.len % 8 != 0) io_str_add(&h, " ", 1);
    if (h.failed) {
        io_str_free(&h);
        return io_error(err, NN_E_NOMEM, "%s: out of memory building the header", name);
    }
    if (h.len > NN_ST_MAX_HEADER) {
        size_t len = h.len;
        io_str_free(&h);
        return io_error(err, NN_E_INVALID,
                        "%s: the header would be %zu bytes, above the safetensors limit of %u",
                        name, len, NN_ST_MAX_HEADER);
    }
    uint8_t len8[8];
    io_le64_store(len8, h.len);
    errno = 0;
    int bad = fwrite(len8, 1, 8, fp) != 8 || fwrite(h.s, 1, h.len, fp) != h.len;
    io_str_free(&h);
    for (size_t i = 0; i < n && !bad; i++) {
        uint64_t count = nn_st_count(&t[i]);
        if (count > 0) bad = io_le_pieces(t[i].data, count, DTYPE_SIZES[t[i].dtype], write_piece, fp);
    }
    if (bad || ferror(fp))
        return io_error(err, NN_E_IO, "%s: write error: %s", name,
                        errno ? strerror(errno) : "unknown");
    return NN_OK;
}
