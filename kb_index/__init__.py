"""Knowledge articles -> chunks -> embeddings -> faiss + lexical index; search and live updates."""
