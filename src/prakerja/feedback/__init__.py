"""Feedback: citizen messages from every channel, and the triage model that reads them.

This part owns the text-understanding core: Indonesian chat normalisation and personal-data
masking (`textnorm.normalize`, `textnorm.mask_pii`), the triage model with topic, sentiment and
urgency heads (`classifier.train`, `TriageModel.predict`, `classifier.evaluate`), urgency rules
(`rules.urgency_signals`), versioned models with an activation rule and a seed model trained from
the product's own labelled messages (`registry.active_model`, `registry.train_and_register`,
`registry.maybe_activate`), and the `prakerja feedback train|evaluate` commands.
"""
