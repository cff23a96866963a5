"""Community voice: live chat and its moderation (Q&A and testimonials live beside them)."""
