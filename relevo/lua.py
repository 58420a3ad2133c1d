"""Pieces shared by Relevo's Redis Lua scripts."""

# `flat(map)`: a decoded JSON object as the flat field-value list that HSET and XADD take.
FLAT = """
local function flat(map)
  local out = {}
  for k, v in pairs(map) do out[#out + 1] = k; out[#out + 1] = v end
  return out
end
"""

# `relay(stream, conversation, log_id, owner, handoff, words)`: a customer's message (`words`, the
# decoded log fields) for the person who owns the conversation, as the desk reads it from its
# relay stream (`handoff.desk`). Includes `flat`.
RELAY_TO_DESK = (
    FLAT
    + """
local function relay(stream, conversation, log_id, owner, handoff, words)
  return redis.call('XADD', stream, '*', 'conversation_id', conversation, 'log_id', log_id,
    'owner', owner, 'handoff', handoff, unpack(flat(words)))
end
"""
)
