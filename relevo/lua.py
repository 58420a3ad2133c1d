"""Pieces shared by Relevo's Redis Lua scripts."""

# `flat(map)`: a decoded JSON object as the flat field-value list that HSET and XADD take.
FLAT = """
local function flat(map)
  local out = {}
  for k, v in pairs(map) do out[#out + 1] = k; out[#out + 1] = v end
  return out
end
"""
