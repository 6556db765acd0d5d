"""Many drives: decide again from stored features, extract features once per drive, score a
corpus, sweep configs over it, on a local process pool or a Ray cluster (docs/scaling.md).

  table          a per-frame table read back as the detectors' inputs, with its checks
  feature_replay `replay --features`: calibration, detectors and policy without the tracker
  extract        `extract`: the tracker once per drive, tables keyed by content and code
  corpus         the drives of a corpus and their ground truth
  grid           the configs of a sweep (grid / random over dotted keys)
  sweep          `sweep`: every config over the corpus, results, Pareto front, best configs
  executor       where the work runs: in-process, a process pool, Ray
"""
