"""Scoring through an inference server (``model.backend=server``; docs/serving.md).

- ``wire``: the subset of the OpenAI chat-completions API scoring uses, as vLLM serves it:
  building requests and reading answers (the client), reading requests and writing answers
  (``qwen_vad.models.serve``, the local server for a checkpoint);
- ``client``: HTTP with a bounded pool of concurrent requests, retries with backoff, and a
  clear error when the server is down;
- ``answer_log``: every answer kept in the run folder, so an interrupted run resumed with
  ``resume=true`` does not send the requests already answered;
- ``scorers``: the server backend: a ``Scorer`` for evaluate (A/B and generate mode) and a
  prompt scorer for OPRO's search;
- ``run_answers``: where the answers go (the run folder) and what ``resume=true`` carries over.
"""
