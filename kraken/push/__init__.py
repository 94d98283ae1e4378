"""Web push (HF §3.5, docs/decisions/0068-web-push.md): VAPID keys, subscriptions, delivery of notifications."""
