"""The accept script: one customer message deduped, logged and routed by ownership, in one step.

`ConversationStore.accept` (bot/conversations.py) runs it; the fields it reads and returns are
documented there. Kept apart because it is most of the store's length and all of its routing.

KEYS: 1 the seen marker of the channel's message id, 2 the conversation's metadata, 3 its log,
4 its owner, 5 the assistant's inbound stream, 6 the desk relay, 7 the outbox, 8 the
conversation's current handoff, 9 the customer's profile, 10 the customer's conversations,
11 the operations events, 12 the customer's flood counter ("" for none), 13 the conversation's
waiting-notice marker.

ARGV: 1 the seen marker's TTL, 2 the metadata (JSON), 3 the log entry (JSON), 4 the assistant's
entry (JSON), 5 the notice instead of the assistant (JSON or ""), 6 now (ISO), 7 the profile
(JSON), 8 the message's time (epoch seconds), 9 the conversation id, 10 the handoff key prefix,
11 the rating the message carries (""), 12 its thanks (JSON or ""), 13 the reopening window in
seconds, 14 the retention in seconds (0: kept), 15 the person key prefix, 16 the conversation's
handoffs key, 17 the flood limit (""), 18 the operations event (JSON or ""), 19 the events'
MAXLEN, 20 the slow-down notice (JSON or ""), 21 the consumer to hand the assistant's entry to
(""), 22 the inbound group, 23 the waiting-notice window in seconds (""), 24 the welcome to
thanks (JSON or ""), 25 the notice for an attachment relayed to a person (JSON or ""), 26 "1" for
an edit, 27 what the message is (`bot.gestures.Gesture`), 28 the gateway's answer to it while
a person has the conversation (JSON or ""), 29 how old the last waiting notice must be for a
message that asks whether anyone is there to earn one ("").
"""

ACCEPT = """
local function waiting_notice_due()  -- once per window; "anyone there?" once the last is older
  if redis.call('SET', KEYS[13], '1', 'NX', 'EX', ARGV[23]) then return true end
  if ARGV[29] ~= '' and redis.call('TTL', KEYS[13]) <= tonumber(ARGV[23]) - tonumber(ARGV[29])
  then
    redis.call('SET', KEYS[13], '1', 'EX', ARGV[23])
    return true
  end
  return false
end
local function route()
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return {'duplicate', ''} end
local over = 0
if ARGV[17] ~= '' then
  local count = redis.call('INCR', KEYS[12])
  if count == 1 then redis.call('EXPIRE', KEYS[12], 120) end
  over = count - tonumber(ARGV[17])
end
local now = ARGV[6]
redis.call('HSET', KEYS[2], unpack(flat(cjson.decode(ARGV[2]))))
redis.call('HSETNX', KEYS[2], 'created_at', now)
redis.call('HSET', KEYS[9], unpack(flat(cjson.decode(ARGV[7]))))
redis.call('HSET', KEYS[9], 'last_seen', now)
redis.call('HSETNX', KEYS[9], 'first_seen', now)
redis.call('ZADD', KEYS[10], ARGV[8], ARGV[9])
local owner = redis.call('GET', KEYS[4]) or 'bot'
local reopened = false
if ARGV[26] ~= '' and (owner == 'bot' or owner == 'closed') then
  return {'edit', redis.call('XADD', KEYS[3], '*', unpack(flat(cjson.decode(ARGV[3]))))}
end
local handoff = redis.call('GET', KEYS[8])
local record = ARGV[10] .. (handoff or '')
local gesture = ARGV[27]
if handoff and ARGV[11] ~= '' and (owner == 'closed' or (owner == 'bot' and gesture == 'press'
    and redis.call('HGET', record, 'state') == 'closed'))
    and redis.call('HGET', record, 'rating_asked') == '1' then
  -- the first rating counts; a second one is thanked and shown, never a reopening; a rating
  -- button pressed once the assistant has the conversation again still answers the resolution
  local kept = redis.call('HGET', record, 'rating') or ''
  if kept == '' then
    redis.call('HSET', record, 'rating', ARGV[11], 'rated_at', now)
    redis.call('XADD', record .. ':events', '*', 'action', 'rating', 'by', 'customer',
      'rating', ARGV[11], 'at', now)
  end
  local said = cjson.decode(ARGV[3])
  local rated = redis.call('XADD', KEYS[3], '*', unpack(flat(said)))
  redis.call('XADD', KEYS[6], '*', 'conversation_id', ARGV[9], 'log_id', rated,
    'handoff', handoff, 'kind', 'rating', 'rating', ARGV[11], 'kept', kept,
    'text', said.text or '')
  if ARGV[12] ~= '' then
    redis.call('XADD', KEYS[7], '*', unpack(flat(cjson.decode(ARGV[12]))))
  end
  if kept ~= '' then return {'rated_again', rated} end
  return {'rating', rated}
end
if owner == 'closed' then
  if ARGV[24] ~= '' then
    local said = cjson.decode(ARGV[3])
    local closing = redis.call('XADD', KEYS[3], '*', unpack(flat(said)))
    if handoff then relay(KEYS[6], ARGV[9], closing, owner, handoff, said) end
    if over <= 0 then redis.call('XADD', KEYS[7], '*', unpack(flat(cjson.decode(ARGV[24])))) end
    return {'closing', closing}
  end
  local resolved = tonumber(redis.call('HGET', record, 'resolved_epoch') or '0')
  -- a press or a command is for the assistant: only words, or asking for a person, reopen
  local words = gesture ~= 'press' and gesture ~= 'command' and gesture ~= 'bot'
  if handoff and words and tonumber(ARGV[8]) - resolved < tonumber(ARGV[13]) then
    redis.call('SET', KEYS[4], 'queued')
    local said = cjson.decode(ARGV[3])
    redis.call('HSET', record, 'last_owner', redis.call('HGET', record, 'owner') or '',
      'last_owner_name', redis.call('HGET', record, 'owner_name') or '', 'reopened_at', now,
      'reopened_by', said.display or said.text or '')
    redis.call('HSET', record, 'state', 'queued', 'owner', '', 'owner_name', '', 'updated_at', now)
    -- a new cycle: the last one's claim, answer, targets and rating stay in the events only
    redis.call('HDEL', record, 'claimed_at', 'first_response_at', 'sla_state', 'rating',
      'rated_at', 'cycle_sla_due_at', 'cycle_resolution_due_at')
    redis.call('XADD', record .. ':events', '*', 'action', 'reopen', 'by', 'customer',
      'from', 'closed', 'to', 'queued', 'at', now)
    redis.call('DEL', KEYS[13])
    owner, reopened = 'queued', true
  else
    redis.call('SET', KEYS[4], 'bot')
    redis.call('XADD', KEYS[3], '*', 'type', 'event', 'event', 'new_conversation', 'time', now)
    owner = 'bot'
  end
end
local log_id = redis.call('XADD', KEYS[3], '*', unpack(flat(cjson.decode(ARGV[3]))))
if reopened then  -- after the message that reopened it: the page draws "waiting" below it
  redis.call('XADD', KEYS[3], '*', 'type', 'event', 'event', 'queued', 'time', now)
end
if owner ~= 'bot' then
  handoff = handoff or ''
  if gesture == 'bot' and owner == 'queued' then  -- withdrawn: the desk returns it (relay)
    local said = cjson.decode(ARGV[3])
    said.kind = 'back'
    relay(KEYS[6], ARGV[9], log_id, owner, handoff, said)
    return {'back', log_id}
  end
  if ARGV[28] ~= '' and not reopened then  -- a command: the gateway answers, the desk is told
    local said = cjson.decode(ARGV[3])
    said.kind = 'command'
    relay(KEYS[6], ARGV[9], log_id, owner, handoff, said)
    if over <= 0 then redis.call('XADD', KEYS[7], '*', unpack(flat(cjson.decode(ARGV[28])))) end
    return {'command', log_id}
  end
  relay(KEYS[6], ARGV[9], log_id, owner, handoff, cjson.decode(ARGV[3]))
  if ARGV[25] ~= '' and over <= 0 then
    redis.call('XADD', KEYS[7], '*', unpack(flat(cjson.decode(ARGV[25]))))
  end
  if owner == 'queued' and over <= 0 and ARGV[23] ~= '' and waiting_notice_due() then
    return {'relay', log_id, {}, redis.call('HGET', KEYS[2], 'language') or '',
      redis.call('HGET', record, 'record') or '', redis.call('HGET', record, 'replied_at') or ''}
  end
  return {'relay', log_id}
end
if over > 1 then return {'throttled', log_id} end
local notice = ARGV[5]
if over == 1 and ARGV[20] ~= '' then notice = ARGV[20] end
if notice ~= '' then
  redis.call('XADD', KEYS[7], '*', unpack(flat(cjson.decode(notice))))
  return {'notice', log_id}
end
redis.call('XADD', KEYS[5], '*', 'log_id', log_id,
  'returned_handoff', redis.call('HGET', KEYS[2], 'returned_handoff') or '',
  unpack(flat(cjson.decode(ARGV[4]))))
if ARGV[21] ~= '' then
  local read = redis.pcall('XREADGROUP', 'GROUP', ARGV[22], ARGV[21], 'COUNT', 100,
    'STREAMS', KEYS[5], '>')
  if type(read) == 'table' and not read.err and read[1] then return {'bot', log_id, read[1][2]} end
end
return {'bot', log_id}
end
local result = route()
if result[1] ~= 'duplicate' and ARGV[18] ~= '' then
  redis.call('XADD', KEYS[11], 'MAXLEN', '~', ARGV[19], '*', unpack(flat(cjson.decode(ARGV[18]))))
end
local keep = tonumber(ARGV[14])
if result[1] ~= 'duplicate' and keep > 0 then
  for _, i in ipairs({2, 3, 4, 8, 9, 10}) do redis.call('EXPIRE', KEYS[i], keep) end
  redis.call('EXPIRE', ARGV[16], keep)
  local handoff = redis.call('GET', KEYS[8])
  if handoff then
    redis.call('EXPIRE', ARGV[10] .. handoff, keep)
    redis.call('EXPIRE', ARGV[10] .. handoff .. ':events', keep)
  end
  local person = redis.call('HGET', KEYS[9], 'person')
  if person then redis.call('EXPIRE', ARGV[15] .. person, keep) end
end
return result
"""
