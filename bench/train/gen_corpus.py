#!/usr/bin/python3
"""Writes a seeded English-like corpus of about N MB for the trainer benchmark (bench/train/run.sh).

Words come from the STS Benchmark and SICK sentences (../shared/data), drawn with their own
frequencies; one word in 20 is a fresh variant (a prefix, a suffix, a doubled or dropped letter,
a number), so the vocabulary has the long tail of real text (about a million distinct words per
100 MB) instead of the 20k words of the source. Sentences are 5-30 words with the source's
punctuation. Same seed, same bytes.

usage: gen_corpus.py SHARED_DIR OUT_FILE MB [SEED]
"""
import collections, glob, random, re, sys

shared, out, mb = sys.argv[1], sys.argv[2], float(sys.argv[3])
rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 7)
counts = collections.Counter()
def sentences():
    for f in sorted(glob.glob(shared + '/data/stsbenchmark/sts-*.csv')):
        for line in open(f, encoding='utf-8', errors='replace'):
            yield from line.rstrip('\n').split('\t')[5:7]
    for line in list(open(shared + '/data/SICK/SICK.txt', encoding='utf-8', errors='replace'))[1:]:
        yield from line.split('\t')[1:3]

for s in sentences():
    for w in re.findall(r"[\w']+|[.,!?;:]", s):
        counts[w] += 1
words, weights = zip(*counts.most_common())
cum = []
acc = 0
for w in weights:
    acc += w
    cum.append(acc)
PRE = ['un', 're', 'pre', 'over', 'non', 'anti', 'sub', 'inter']
SUF = ['s', 'ed', 'ing', 'ly', 'ness', 'ment', 'er', 'est', 'able', 'ism']

def variant(w):
    k = rng.randrange(5)
    if k == 0: return rng.choice(PRE) + w
    if k == 1: return w + rng.choice(SUF)
    if k == 2 and len(w) > 3:
        i = rng.randrange(1, len(w) - 1); return w[:i] + w[i] + w[i:]
    if k == 3 and len(w) > 4:
        i = rng.randrange(1, len(w) - 1); return w[:i] + w[i + 1:]
    return w + str(rng.randrange(1000))

target = int(mb * 1e6)
written = 0
with open(out, 'w', encoding='utf-8') as f:
    buf = []
    while written < target:
        n = rng.randrange(5, 31)
        ws = rng.choices(words, cum_weights=cum, k=n)
        ws = [variant(w) if rng.random() < 0.05 else w for w in ws]
        s = ' '.join(ws)
        s = s[0].upper() + s[1:] + rng.choice(['.', '.', '.', '?', '!']) + '\n'
        buf.append(s)
        written += len(s.encode())
        if len(buf) >= 10000:
            f.write(''.join(buf)); buf = []
    f.write(''.join(buf))
