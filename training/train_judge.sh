#!/usr/bin/env bash
# The judging reader in one command: three continued train_reader.py runs, then its judge.json.
#
#   bash training/train_judge.sh OUT [--no-bench] [train_reader.py options, e.g. --device cuda]
#
# The stages are the ones measured in BENCHMARKS.md ("The whole-abstract reader as judge"):
#   1. from the bundled reader, on its own 2,310 questions (packet_*.jsonl), at 256 word pieces;
#   2. all pairs of the long paraphrase questions (training/questions/long), filled up from
#      the others, at 256;
#   3. title + whole abstract as one more passage (--whole), at 384.
# Each stage prints its held-out figures on corpus clusters it did not train on (seed 0).
# Unlike the measured runs, no stage stops at a time budget: every stage trains all its steps
# (on these 2 CPU cores about 2.5 hours in all; minutes on a GPU). Options after OUT go to
# every stage and override its own (a smoke run: --max-pairs 32 --max-held 6 --max-tokens 64).
# Last, benchmarks/bench_reader.py fits the judge's constants and threshold on the probe sets,
# prints the held-out figures against fusion, and saves OUT/judge.json, which makes
# PAPERCHAT_RERANKER=OUT judge relevance (vectorstore/judge.py); --no-bench skips that step.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: bash training/train_judge.sh OUT [--no-bench] [train_reader.py options]}
shift
bench=1
if [[ ${1:-} == --no-bench ]]; then
    bench=0
    shift
fi
python=${PYTHON:-python}
stages="$out.stages"
train() { "$python" training/train_reader.py --max-minutes 100000 "$@"; }

train --init vectorstore/reader_model --questions 'packet_*.jsonl' --max-tokens 256 --lr 3e-5 \
    --max-pairs 12000 --out "$stages/256" "$@"
train --init "$stages/256" --focus 'long/*' --max-tokens 256 --lr 3e-5 --max-pairs 12000 \
    --out "$stages/long" "$@"
train --init "$stages/long" --whole --max-tokens 384 --lr 2e-5 --max-pairs 7000 \
    --out "$out" "$@"
if [[ $bench == 1 ]]; then
    "$python" benchmarks/bench_reader.py --distractors 0 3000 --whole --fit --reader "$out" \
        --save-judge "$out"
fi
