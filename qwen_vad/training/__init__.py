"""LoRA fine-tuning of an audio LLM (any family) on the A/B speech question (``python -m qwen_vad.finetune``).

One job per module, in the order a training run uses them:

  examples          the training split's clips, loaded once, as a torch Dataset
  prompt_sampling   the prompt of each example (prompt augmentation) and its answer letter
  labels            which token positions carry the loss (loss.mode)
  specaugment       frequency and time masks on the valid log-mel frames of training clips
  collator          examples -> model inputs + labels, exactly as evaluation renders them
  loss              the loss the trainer minimises (token cross-entropy or A-vs-B)
  model_setup       the base model with LoRA adapters, frozen parts, gradient checkpointing
  dev_scoring       constrained A/B scoring of the dev split during training
  trainer           the Hugging Face Trainer: schedule, dev evaluation, best adapter, early stop
  resume            the interrupted run and checkpoint that resume=true continues
  outputs           adapter/, trainer_state.json and the training part of metrics.json
"""
