/* zb_progress: a one-line progress bar for long work, drawn on a terminal only.
 *
 *   zb_progress *bar = zb_progress_new(&(zb_progress_opts){.label = "encode", .fd = 2,
 *                                       .quiet = o->quiet, .total = zb_input_bytes_total(in)});
 *   for (...) zb_progress_update(bar, bytes_done, texts, tokens);    // cheap: redraws are rate-limited
 *   zb_progress_end(&bar);
 *
 * It draws only when fd is a terminal and quiet is 0: piped or redirected stderr stays clean, so
 * scripts and logs never see it. The line shows what was given: texts and texts/s, tokens/s,
 * bytes and bytes/s (downloads), percent and ETA when the total is known. Rates are averages since
 * the start; redraws happen at most every ZB_PROGRESS_REDRAW_MS, and not at all for work that ends
 * before then. One extra labelled figure the counters cannot say (t-SNE's KL divergence, a loss)
 * goes at the line's end with zb_progress_note(bar, "KL %.3f", kl). Every call accepts NULL (no bar). */
#ifndef ZB_PROGRESS_H
#define ZB_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

#define ZB_PROGRESS_REDRAW_MS 200

typedef struct {
    const char *label;          /* "encode", "fetch-model" */
    int fd;                     /* where to draw: 2 (stderr) */
    int quiet;                  /* 1: never draw (--quiet) */
    uint64_t total;             /* units of work in all (input bytes, download bytes); 0: unknown */
    int bytes;                  /* 1: done/total are the thing counted (a download): shown as MiB, MiB/s */
    int64_t (*clock_ms)(void);  /* NULL: CLOCK_MONOTONIC (tests pass their own) */
} zb_progress_opts;

typedef struct zb_progress zb_progress;

/* NULL when nothing is to be drawn (quiet, fd not a terminal, no memory). */
zb_progress *zb_progress_new(const zb_progress_opts *o);

/* done: units of total done so far; texts, tokens: counts so far (0: not shown). Redraws when
 * ZB_PROGRESS_REDRAW_MS passed since the last draw. */
void zb_progress_update(zb_progress *p, uint64_t done, uint64_t texts, uint64_t tokens);

/* Sets the extra figure shown at the end of the line from the next draw on (printf format, cut at
 * ZB_PROGRESS_NOTE_MAX - 1 bytes); NULL or "" removes it. Does not draw by itself. */
#define ZB_PROGRESS_NOTE_MAX 64
void zb_progress_note(zb_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sets a new total (e.g. once a download's size is known). */
void zb_progress_set_total(zb_progress *p, uint64_t total);

/* Erases the bar (when drawn), so a line of text can be printed; the next update draws it again. */
void zb_progress_clear(zb_progress *p);

/* Draws the final state with a newline when anything was drawn, frees p, nulls the pointer. */
void zb_progress_end(zb_progress **p);

/* The line for a state (no "\r", no escape codes), for tests and for the bar itself. */
void zb_progress_format(char *buf, size_t cap, const char *label, int bytes, uint64_t total,
                        uint64_t done, uint64_t texts, uint64_t tokens, int64_t elapsed_ms);

#endif
