"""Operations reports: KPIs computed from the event stream, rendered for people and tools."""
