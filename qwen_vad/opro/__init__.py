"""OPRO prompt search (``python -m qwen_vad.opro``), one job per module:

  __main__        the stage: session -> search -> final evaluation -> published prompt
  session         model, search clip sets, caches and history set up once
  search          the loop: seeds, steps, budgets, early stopping
  meta_prompt     what the optimizer reads;  exemplars: clips described in words
  candidates      parsing, normalisation and rejection of proposals
  reward          BA_clip + lambda * BA_conditions
  search_scorer   scores of prompts on the search sets (score cache, then audio cache)
  score_cache     per-clip scores keyed by prompt, scorer and dataset
  audio_cache     scoring many prompts with each clip's audio encoded once
  history         opro_history.jsonl and the state replayed from it;  resume: resume=true
  backends        the optimizer choice: openai_client, local_lm (hf, self), scripted_server
  final           test scoring of the chosen prompt and prompts/optimized/<exp>.txt
"""
