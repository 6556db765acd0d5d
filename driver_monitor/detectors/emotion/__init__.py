"""Advisory emotional and attentional states: anger / frustration and daydreaming
(docs/emotion.md). Pure, judged against the driver's own baseline, comfort actions only."""
