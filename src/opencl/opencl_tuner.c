/* opencl_tuner.c — nn_tune_run: coordinate descent per group from the
 * built-in defaults, every candidate verified before it is timed, timing
 * interleaved with the incumbent (medians of several rounds), and a final
 * choice among the configurations of the descent path (the defaults at
 * worst): the stored one's median is at least the defaults' on every shape.
 *
 * A move is accepted when the best value of a coordinate is at least 3%
 * faster than the incumbent (geometric mean over shapes of the median
 * per-round time ratio) and no shape is more than 10% slower, in its sweep
 * and again in a fresh confirmation against the incumbent; a candidate
 * more than 3x slower than the incumbent on a shape after one round is not
 * timed further. The final choice (final_check) compares medians of times,
 * the figures the report shows, measured apart from the selection. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opencl/opencl_tuner.h"

#define ACCEPT_GAIN 0.97  /* geometric-mean time ratio a move must beat */
#define ACCEPT_WORST 1.10 /* ... while no shape's ratio exceeds this */
#define HOPELESS 3.0      /* first-round ratio past which timing stops */
#define MAX_ROUNDS 64
#define MAX_PATH 40       /* incumbents kept for the final fall-back */
#define MAX_TRIED 1024

/* Report an event; NN_E_STOPPED (in err) when the callback asks to stop. */
static nn_status emit(tn_state *s, nn_tune_event ev, int g, const tn_work *w, const char *params,
                      unsigned cand, double rate, double base, const char *detail,
                      nn_error *err) {
    if (!s->opt->progress) return NN_OK;
    nn_tune_progress p;
    memset(&p, 0, sizeof p);
    p.event = ev;
    p.group = tn_group_name(g);
    p.shape = w ? w->label : NULL;
    p.params = params;
    p.candidate = cand;
    p.rate = rate;
    p.baseline_rate = base;
    p.unit = g == TN_OPS ? "Gelem/s" : "GFLOP/s";
    p.detail = detail && *detail ? detail : NULL;
    p.elapsed_seconds = nn_now() - s->t0;
    if (s->opt->progress(s->opt->user, &p))
        return nn_error_set(err, NN_E_STOPPED, "tuning stopped by the progress callback");
    return NN_OK;
}

/* Seconds per call of w with candidate x: w->reps calls, one sample. */
static nn_status sample(tn_state *s, const tn_cand *x, tn_work *w, double *sec, nn_error *err) {
    double t0 = nn_now();
    nn_status st = tn_run(s, x, w, w->reps, err);
    *sec = (nn_now() - t0) / (double)w->reps;
    return st;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n) {
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Interleaved rounds of a and b (order alternating) on the works that
 * `mask` affects (0: all): medians into ma[i], mb[i] (seconds per call) and
 * the median of the per-round ratios b / a into ratio[i] (robust to the
 * machine's load drifting between rounds); timed[i] = 1 for the works
 * measured. Stops after a first round where b is HOPELESS times slower than
 * a on some work (*slow = 1). */
static nn_status compare(tn_state *s, const tn_cand *a, const tn_cand *b, tn_work *w, size_t nw,
                         unsigned mask, unsigned rounds, double *ma, double *mb, double *ratio,
                         int *timed, int *slow, nn_error *err) {
    double ta[TN_MAX_WORKS][MAX_ROUNDS], tb[TN_MAX_WORKS][MAX_ROUNDS];
    *slow = 0;
    for (size_t i = 0; i < nw; i++) timed[i] = !mask || (w[i].affect & mask) != 0;
    for (unsigned r = 0; r < rounds; r++)
        for (size_t i = 0; i < nw; i++) {
            if (!timed[i]) continue;
            nn_status st;
            if (r % 2 == 0) {
                st = sample(s, a, &w[i], &ta[i][r], err);
                if (st == NN_OK) st = sample(s, b, &w[i], &tb[i][r], err);
            } else {
                st = sample(s, b, &w[i], &tb[i][r], err);
                if (st == NN_OK) st = sample(s, a, &w[i], &ta[i][r], err);
            }
            if (st != NN_OK) return st;
            if (r == 0 && tb[i][0] > HOPELESS * ta[i][0]) *slow = 1;
            if (*slow) {
                for (size_t j = 0; j < nw; j++)
                    if (timed[j]) {
                        ma[j] = j <= i ? ta[j][0] : 0;
                        mb[j] = j <= i ? tb[j][0] : 0;
                        ratio[j] = j <= i ? tb[j][0] / ta[j][0] : 0;
                        timed[j] = j <= i;
                    }
                return NN_OK;
            }
        }
    for (size_t i = 0; i < nw; i++)
        if (timed[i]) {
            double q[MAX_ROUNDS];
            for (unsigned r = 0; r < rounds; r++) q[r] = tb[i][r] / ta[i][r];
            ratio[i] = median(q, rounds);
            ma[i] = median(ta[i], rounds);
            mb[i] = median(tb[i], rounds);
        }
    return NN_OK;
}

/* Per-group search state. */
typedef struct group_run {
    int g;
    tn_work w[TN_MAX_WORKS];
    size_t nw;
    tn_cand path[MAX_PATH]; /* path[0]: the defaults; then every accepted incumbent */
    size_t np;
    nn_cl_tune *tried;      /* (MAX_TRIED) values already considered */
    size_t n_tried;
    unsigned n_cand;
} group_run;

/* 1 if t was considered before in this group; else remembers it. */
static int seen(group_run *gr, const nn_cl_tune *t) {
    for (size_t i = 0; i < gr->n_tried; i++)
        if (tn_cand_same(gr->g, &gr->tried[i], t)) return 1;
    if (gr->n_tried < MAX_TRIED) gr->tried[gr->n_tried++] = *t;
    return 0;
}

/* Build and verify candidate x on every work, counting each outcome; *ok = 1
 * when it may be timed. The candidate is released unless *ok. */
static nn_status try_candidate(tn_state *s, group_run *gr, tn_cand *x, int *ok, nn_error *err) {
    const int g = gr->g;
    *ok = 0;
    x->index = ++gr->n_cand;
    s->rep->candidates++;
    for (size_t i = 0; i < gr->nw; i++) gr->w[i].tried++;
    tn_group_params(g, &x->t, x->params, sizeof x->params);
    nn_status st = emit(s, NN_TUNE_EV_CANDIDATE, g, NULL, x->params, gr->n_cand, 0, 0, NULL, err);
    if (st != NN_OK) return st;
    nn_cl_build_fail fail = NN_CL_BUILT;
    nn_error be;
    if (tn_cand_build(s, g, x, &fail, &be) != NN_OK) {
        const int launch = fail == NN_CL_FAIL_WORKGROUP;
        for (size_t i = 0; i < gr->nw; i++) {
            if (launch) gr->w[i].launch_failed++;
            else gr->w[i].build_failed++;
        }
        if (launch) s->rep->launch_failed++;
        else s->rep->build_failed++;
        char line[256];
        snprintf(line, sizeof line, "%.*s", (int)strcspn(be.msg, "\n"), be.msg);
        return emit(s, launch ? NN_TUNE_EV_LAUNCH_FAILED : NN_TUNE_EV_BUILD_FAILED, g, NULL,
                    x->params, gr->n_cand, 0, 0, line, err);
    }
    int launch_bad = 0, verify_bad = 0;
    for (size_t i = 0; i < gr->nw && st == NN_OK; i++) { /* every work: exact counts */
        char detail[256];
        tn_check r = tn_verify(s, x, &gr->w[i], detail, sizeof detail);
        nn_tune_event ev = NN_TUNE_EV_VERIFIED;
        if (r == TN_VERIFIED) gr->w[i].verified++;
        else if (r == TN_LAUNCH_FAILED) gr->w[i].launch_failed++, launch_bad = 1,
                                        ev = NN_TUNE_EV_LAUNCH_FAILED;
        else gr->w[i].verify_failed++, verify_bad = 1, ev = NN_TUNE_EV_VERIFY_FAILED;
        st = emit(s, ev, g, &gr->w[i], x->params, gr->n_cand, 0, 0, detail, err);
    }
    if (st == NN_OK && (launch_bad || verify_bad)) {
        if (launch_bad) s->rep->launch_failed++;
        else s->rep->verify_failed++;
    }
    *ok = st == NN_OK && !launch_bad && !verify_bad;
    if (!*ok) tn_cand_release(x);
    return st;
}

/* Time the verified candidate x against the incumbent on the works coordinate
 * `mask` affects; *score = geometric mean over works of the median per-round
 * time ratio (x / incumbent), *worst = the largest (both HUGE_VAL when x is
 * hopeless). */
static nn_status time_candidate(tn_state *s, group_run *gr, const tn_cand *inc, const tn_cand *x,
                                unsigned mask, double *score, double *worst, nn_error *err) {
    double ma[TN_MAX_WORKS], mb[TN_MAX_WORKS], q[TN_MAX_WORKS];
    int timed[TN_MAX_WORKS], slow;
    nn_status st =
        compare(s, inc, x, gr->w, gr->nw, mask, s->rounds, ma, mb, q, timed, &slow, err);
    if (st != NN_OK) return st;
    double logsum = 0;
    size_t n = 0;
    *worst = 0;
    for (size_t i = 0; i < gr->nw && st == NN_OK; i++) {
        if (!timed[i]) continue;
        const double ratio = q[i];
        logsum += log(ratio);
        n++;
        if (ratio > *worst) *worst = ratio;
        st = emit(s, NN_TUNE_EV_TIMED, gr->g, &gr->w[i], x->params, x->index,
                  gr->w[i].amount / mb[i] * 1e-9, gr->w[i].amount / ma[i] * 1e-9, NULL, err);
    }
    *score = slow || !n ? HUGE_VAL : exp(logsum / (double)n);
    if (slow) *worst = HUGE_VAL;
    return st;
}

/* Coordinate descent from path[0] (the defaults, built and verified). */
static nn_status descend(tn_state *s, group_run *gr, nn_error *err) {
    const int g = gr->g, quick = s->quick;
    const unsigned passes = quick ? 1 : 3, cap = s->opt->max_candidates;
    nn_status st = NN_OK;
    seen(gr, &gr->path[0].t);
    for (unsigned pass = 0; pass < passes; pass++) {
        int moved = 0;
        for (size_t ci = 0; ci < tn_coord_count(g, quick); ci++) {
            const tn_coord *co = tn_coord_info(g, quick, ci);
            const tn_cand *inc = &gr->path[gr->np - 1];
            tn_cand best;
            int have_best = 0;
            double best_score = ACCEPT_GAIN;
            int capped = 0;
            for (size_t vi = 0; vi < co->n_values && st == NN_OK; vi++) {
                tn_cand x;
                memset(&x, 0, sizeof x);
                x.t = inc->t;
                if (!tn_coord_set(g, quick, ci, vi, &x.t)) break; /* not for this incumbent */
                if (seen(gr, &x.t)) continue;
                if (cap && gr->n_cand >= cap) {
                    capped = 1;
                    break;
                }
                int ok;
                st = try_candidate(s, gr, &x, &ok, err);
                if (st != NN_OK || !ok) continue;
                double score, worst;
                st = time_candidate(s, gr, inc, &x, co->affect, &score, &worst, err);
                if (st == NN_OK && score < best_score && worst < ACCEPT_WORST) {
                    if (have_best) tn_cand_release(&best);
                    best = x;
                    have_best = 1;
                    best_score = score;
                } else {
                    tn_cand_release(&x);
                }
            }
            if (have_best && st == NN_OK) { /* the best of several noisy figures: confirm it */
                double score, worst;
                st = time_candidate(s, gr, inc, &best, co->affect, &score, &worst, err);
                if (st == NN_OK && !(score < ACCEPT_GAIN && worst < ACCEPT_WORST)) {
                    tn_cand_release(&best);
                    have_best = 0;
                } else {
                    best_score = score;
                }
            }
            if (have_best) {
                if (st == NN_OK && gr->np < MAX_PATH) {
                    gr->path[gr->np++] = best;
                    moved = 1;
                    st = emit(s, NN_TUNE_EV_ACCEPTED, g, NULL, best.params, best.index,
                              1.0 / best_score, 1.0, NULL, err);
                } else {
                    tn_cand_release(&best);
                }
            }
            if (st != NN_OK || capped) return st;
        }
        if (!moved) break;
    }
    return st;
}

/* Fill the report entries of the group from the final comparison. */
static void report(tn_state *s, group_run *gr, size_t chosen, const double *md, const double *mw) {
    nn_tune_report *rep = s->rep;
    for (size_t i = 0; i < gr->nw && rep->n_shapes < NN_TUNE_MAX_SHAPES; i++) {
        const tn_work *w = &gr->w[i];
        nn_tune_shape *e = &rep->shapes[rep->n_shapes++];
        memset(e, 0, sizeof *e);
        snprintf(e->group, sizeof e->group, "%s", tn_group_name(gr->g));
        snprintf(e->label, sizeof e->label, "%s", w->label);
        e->m = w->m, e->n = w->n, e->k = w->k, e->trans_a = w->ta, e->trans_b = w->tb;
        snprintf(e->unit, sizeof e->unit, "%s", gr->g == TN_OPS ? "Gelem/s" : "GFLOP/s");
        e->default_rate = w->amount / md[i] * 1e-9;
        e->tuned_rate = chosen ? w->amount / mw[i] * 1e-9 : e->default_rate;
        snprintf(e->default_params, sizeof e->default_params, "%s", gr->path[0].params);
        snprintf(e->tuned_params, sizeof e->tuned_params, "%s", gr->path[chosen].params);
        e->tried = w->tried;
        e->build_failed = w->build_failed;
        e->launch_failed = w->launch_failed;
        e->verify_failed = w->verify_failed;
        e->verified = w->verified;
    }
}

/* Time path[j] against the defaults on every work (rounds interleaved
 * rounds); a work where it comes out slower is measured once more on its own
 * with twice the rounds (one load spike should not decide), and that second
 * figure counts. *ok = 1 when path[j] is then nowhere slower; md, mw: the
 * medians (seconds per call) of the defaults and of path[j]. */
static nn_status confirm(tn_state *s, group_run *gr, size_t j, unsigned rounds, double *md,
                         double *mw, int *ok, nn_error *err) {
    double q[TN_MAX_WORKS];
    int timed[TN_MAX_WORKS], slow;
    *ok = 0;
    nn_status st = compare(s, &gr->path[0], &gr->path[j], gr->w, gr->nw, 0, rounds, md, mw, q,
                           timed, &slow, err);
    if (st != NN_OK || slow) return st;
    const unsigned again = 2 * rounds > MAX_ROUNDS ? MAX_ROUNDS : 2 * rounds;
    for (size_t i = 0; i < gr->nw; i++) {
        if (tn_work_unaffected(gr->g, &gr->w[i], &gr->path[0].t, &gr->path[j].t)) {
            mw[i] = md[i]; /* the same launches: the defaults' own figure */
            continue;
        }
        if (mw[i] <= md[i]) continue;
        st = compare(s, &gr->path[0], &gr->path[j], &gr->w[i], 1, 0, again, &md[i], &mw[i], q,
                     timed, &slow, err);
        if (st != NN_OK || slow || mw[i] > md[i]) return st;
    }
    *ok = 1;
    return NN_OK;
}

/* The winner, selected and confirmed in separate measurements so that the
 * figures reported are not the ones it was selected on:
 *  1. selection: every configuration of the descent path (the defaults
 *     first) is timed on every work in the same rounds, each round visiting
 *     them in a rotated order, and ranked by the geometric mean of its
 *     median time ratios to the defaults;
 *  2. confirmation (confirm): the best one faster than the defaults is timed
 *     against them again; kept when it is nowhere slower, else the next one
 *     (three at most), else the defaults stay.
 * *chosen: its index in the path (0: the defaults); md, mw: the confirmed
 * medians (seconds per call) of the defaults and of the winner. */
static nn_status final_check(tn_state *s, group_run *gr, size_t *chosen, double *md, double *mw,
                             nn_error *err) {
    const size_t np = gr->np, nw = gr->nw;
    const unsigned rounds = s->rounds * 3 < 15 ? 15 : s->rounds * 3 > MAX_ROUNDS ? MAX_ROUNDS
                                                                                 : s->rounds * 3;
    double *t = malloc(np * nw * rounds * sizeof *t); /* (np, nw, rounds) seconds per call */
    double *score = malloc(np * sizeof *score);       /* (np) log geometric-mean time ratio */
    if (!t || !score) {
        free(t), free(score);
        return nn_error_set(err, NN_E_NOMEM, "tuner: out of memory");
    }
    nn_status st = NN_OK;
    for (unsigned r = 0; r < rounds && st == NN_OK && np > 1; r++)
        for (size_t i = 0; i < nw && st == NN_OK; i++)
            for (size_t q = 0; q < np && st == NN_OK; q++) {
                const size_t j = (q + r) % np;
                st = sample(s, &gr->path[j], &gr->w[i], &t[(j * nw + i) * rounds + r], err);
            }
    for (size_t j = 1; j < np && st == NN_OK; j++) {
        score[j] = 0;
        for (size_t i = 0; i < nw; i++)
            score[j] += log(median(&t[(j * nw + i) * rounds], rounds) /
                            median(&t[i * rounds], rounds)) /
                        (double)nw;
    }
    *chosen = 0;
    for (int tries = 0; tries < 3 && st == NN_OK && np > 1; tries++) {
        size_t j = 0; /* the best remaining one faster than the defaults; 0: none */
        for (size_t q = 1; q < np; q++)
            if (score[q] < 0 && (!j || score[q] < score[j])) j = q;
        if (!j) break;
        score[j] = HUGE_VAL; /* not again */
        int ok;
        st = confirm(s, gr, j, rounds, md, mw, &ok, err);
        if (ok) *chosen = j;
        if (ok) break;
    }
    if (st == NN_OK && !*chosen) { /* the defaults stay: their own figures */
        double d[MAX_ROUNDS];
        for (size_t i = 0; i < nw && st == NN_OK; i++) {
            for (unsigned r = 0; r < rounds && st == NN_OK; r++)
                st = sample(s, &gr->path[0], &gr->w[i], &d[r], err);
            md[i] = mw[i] = median(d, rounds);
        }
    }
    free(t), free(score);
    return st;
}

/* Search group g; on success its values in *result are the winner's. */
static nn_status search_group(tn_state *s, int g, nn_cl_tune *result, nn_error *err) {
    group_run *gr = calloc(1, sizeof *gr);
    if (!gr) return nn_error_set(err, NN_E_NOMEM, "tuner: out of memory");
    gr->g = g;
    gr->tried = malloc(MAX_TRIED * sizeof *gr->tried);
    nn_status st = gr->tried ? tn_group_works(s, g, gr->w, &gr->nw, err)
                             : nn_error_set(err, NN_E_NOMEM, "tuner: out of memory");
    if (st == NN_OK) st = emit(s, NN_TUNE_EV_GROUP, g, NULL, NULL, 0, 0, 0, NULL, err);

    /* the defaults: must build and verify (the backend opens with them) */
    tn_cand *def = &gr->path[0];
    if (st == NN_OK) {
        def->t = s->defaults;
        nn_cl_build_fail fail;
        st = tn_cand_build(s, g, def, &fail, err);
        gr->np = st == NN_OK;
    }
    for (size_t i = 0; i < gr->nw && st == NN_OK; i++) {
        char detail[256];
        if (tn_verify(s, def, &gr->w[i], detail, sizeof detail) != TN_VERIFIED)
            st = nn_error_set(err, NN_E_BACKEND,
                              "tuner: the default launch parameters fail on %s: %s",
                              gr->w[i].label, detail);
    }
    /* calls per sample: about s->target seconds with the defaults */
    for (size_t i = 0; i < gr->nw && st == NN_OK; i++) {
        double t1 = 0;
        gr->w[i].reps = 1;
        st = sample(s, def, &gr->w[i], &t1, err);
        if (st == NN_OK) st = sample(s, def, &gr->w[i], &t1, err);
        double reps = t1 > 0 ? ceil(s->target / t1) : 1000;
        gr->w[i].reps = reps < 1 ? 1 : reps > 100000 ? 100000 : (size_t)reps;
    }
    if (st == NN_OK) st = descend(s, gr, err);
    size_t chosen = 0;
    double md[TN_MAX_WORKS], mw[TN_MAX_WORKS];
    if (st == NN_OK) st = final_check(s, gr, &chosen, md, mw, err);
    for (size_t i = 0; i < gr->nw && st == NN_OK; i++)
        st = emit(s, NN_TUNE_EV_FINAL, g, &gr->w[i], gr->path[chosen].params, 0,
                  gr->w[i].amount / mw[i] * 1e-9, gr->w[i].amount / md[i] * 1e-9, NULL, err);
    if (st == NN_OK) {
        report(s, gr, chosen, md, mw);
        const nn_cl_tune *win = &gr->path[chosen].t;
        if (g == TN_OPS) {
            result->wg_1d = win->wg_1d;
            result->wg_2d_x = win->wg_2d_x;
            result->wg_2d_y = win->wg_2d_y;
            result->red_wg = win->red_wg;
            result->red_items = win->red_items;
        } else {
            result->mm[g] = win->mm[g];
        }
    }
    s->c->reduce = s->reduce0; /* before any candidate's reduce program is released */
    s->c->tune = s->defaults;
    for (size_t j = 0; j < gr->np; j++) tn_cand_release(&gr->path[j]);
    for (size_t i = 0; i < gr->nw; i++) tn_work_free(s, &gr->w[i]);
    free(gr->tried);
    free(gr);
    return st;
}

/* want[g] = 1 for each group named in the comma list (NULL: all). */
static nn_status parse_groups(const char *list, int *want, nn_error *err) {
    for (int g = 0; g < TN_GROUPS; g++) want[g] = list == NULL;
    if (!list) return NN_OK;
    char buf[256];
    if (strlen(list) >= sizeof buf)
        return nn_error_set_param(err, NN_E_INVALID, "groups", "the list of groups is too long");
    strcpy(buf, list);
    int any = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok;
         tok = strtok_r(NULL, ", ", &save)) {
        int found = 0;
        for (int g = 0; g < TN_GROUPS; g++)
            if (strcmp(tok, tn_group_name(g)) == 0) want[g] = found = any = 1;
        if (!found)
            return nn_error_set_param(err, NN_E_INVALID, "groups",
                                      "unknown group '%s' (small, narrow, skinny, medium, large, "
                                      "ops)", tok);
    }
    if (!any) return nn_error_set_param(err, NN_E_INVALID, "groups", "no group named in '%s'", list);
    return NN_OK;
}

nn_status nn_tune_run(const nn_tune_options *opt_in, nn_tune_report *rep, nn_error *err) {
    nn_tune_options opt = opt_in ? *opt_in : nn_tune_options_default();
    memset(rep, 0, sizeof *rep);
    rep->quick = opt.quick != 0;
    int want[TN_GROUPS];
    nn_status st = parse_groups(opt.groups, want, err);
    if (st != NN_OK) return st;
    if (opt.repeats > MAX_ROUNDS)
        return nn_error_set(err, NN_E_INVALID, "tune: repeats must be at most %d, got %u",
                            MAX_ROUNDS, opt.repeats);

    tn_state s;
    memset(&s, 0, sizeof s);
    s.opt = &opt;
    s.rep = rep;
    s.quick = opt.quick != 0;
    s.rounds = opt.repeats ? opt.repeats : s.quick ? 5 : 9;
    s.target = s.quick ? 2e-3 : 4e-3;
    s.t0 = nn_now();
    st = nn_cl_open_backend(opt.device, NN_CL_OPEN_DEFAULTS, &s.ocl, err);
    if (st != NN_OK) return st;
    nn_backend_config cpu_cfg = {0, NULL, 0};
    st = nn_backend_open("cpu", &cpu_cfg, &s.cpu, err);
    if (st != NN_OK) {
        nn_backend_close(s.ocl);
        return st;
    }
    s.c = nn_cl_of(s.ocl);
    s.reduce0 = s.c->reduce;
    s.defaults = s.c->tune;
    nn_cl_ident_get(s.c->platform, s.c->device, s.c->src.hash, &s.ident);
    snprintf(rep->platform, sizeof rep->platform, "%s", s.ident.platform);
    snprintf(rep->device, sizeof rep->device, "%s", s.ident.device);
    snprintf(rep->driver, sizeof rep->driver, "%s", s.ident.driver);

    nn_cl_tune result = s.defaults;
    for (int g = 0; g < TN_GROUPS && st == NN_OK; g++)
        if (want[g]) st = search_group(&s, g, &result, err);
    rep->seconds = nn_now() - s.t0;
    nn_cl_tune_format(&result, rep->params, sizeof rep->params);
    if (st == NN_OK && opt.save) {
        st = nn_cl_cache_save(&s.ident, &result, rep->cache_path, sizeof rep->cache_path, err);
        rep->saved = st == NN_OK;
    } else if (st == NN_OK && nn_tune_cache_path(rep->cache_path, sizeof rep->cache_path, NULL) !=
                                  NN_OK) {
        rep->cache_path[0] = '\0';
    }
    nn_backend_close(s.cpu);
    nn_backend_close(s.ocl);
    return st;
}
