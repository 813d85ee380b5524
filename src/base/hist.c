/* The latency histogram: log-linear buckets, a quantile read by walking them. */
#include "base/hist.h"

/* Bucket of v: v itself below 16, else 16 + 8 per octave above 16 + the next three bits. */
static unsigned bucket_of(uint64_t v)
{
    unsigned e;
    unsigned i;

    if (v < 16)
        return (unsigned)v;
    e = 63u - (unsigned)__builtin_clzll(v);
    i = 16 + (e - 4) * 8 + (unsigned)((v >> (e - 3)) & 7);
    return i < PGCDC__HIST_BUCKETS ? i : PGCDC__HIST_BUCKETS - 1;
}

/* The largest value that falls in bucket i. */
static uint64_t upper_of(unsigned i)
{
    unsigned e;
    uint64_t sub;

    if (i < 16)
        return i;
    e = (i - 16) / 8 + 4;
    sub = (i - 16) % 8;
    return ((8 + sub + 1) << (e - 3)) - 1;
}

void pgcdc__hist_add(pgcdc__hist *h, uint64_t us)
{
    h->bucket[bucket_of(us)]++;
    h->count++;
    h->sum += us;
    if (us > h->max)
        h->max = us;
}

uint64_t pgcdc__hist_quantile(const pgcdc__hist *h, double q)
{
    uint64_t want;
    uint64_t seen = 0;

    if (h->count == 0)
        return 0;
    want = (uint64_t)(q * (double)h->count + 0.5);
    if (want < 1)
        want = 1;
    for (unsigned i = 0; i < PGCDC__HIST_BUCKETS; i++) {
        seen += h->bucket[i];
        if (seen >= want) {
            uint64_t up = upper_of(i);

            /* The last bucket holds everything past its start. */
            return up < h->max && i + 1 < PGCDC__HIST_BUCKETS ? up : h->max;
        }
    }
    return h->max;
}
