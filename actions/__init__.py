"""The Rasa action server (rasa-sdk): answer from the knowledge base, escalate, feedback."""
