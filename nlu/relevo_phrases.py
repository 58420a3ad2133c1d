"""Short conversational phrases whose intent their whole wording decides.

- `ask_for_help`: the message only says the customer has a question or needs help ("I have a
  question", "quick question", "I need help", "tengo una duda", "una cosa más", "¿qué puedes
  hacer?"); the question itself comes next.
- `hold_on`: the customer asks for a moment or says they are back ("hold on", "un momento",
  "ya estoy").
- `not_understood`: the customer did not understand ("I don't get it", "no entiendo").
- `greet` for "are you there?" ("¿estás ahí?" was declined as off-topic, "¿hay alguien?"
  went to a person), `affirm` for an acknowledgement ("entendido" was answered with the
  opening hours, "all good" with a greeting) and `goodbye` for "that's all" ("eso es todo"
  got "Sure! What can I help you with?").
- `question` for a place in a list ("the first one", "la segunda, gracias", "number 2"): the
  knowledge-base action reads it against the articles it offered (actions/offers.py). DIET
  took "la segunda" for a greeting and "la primera, gracias" for thanks, answered by a rule
  that never looked at the offer.
- `question` for a booking code or refund reference alone ("XK7P2Q", "mi localizador es
  XK7P2Q"): the knowledge-base action asks what the customer needs with it. DIET took "XK7P2Q"
  for a greeting.
- `question` for the bare name of a subject the brand's care covers ("refund", "mi maleta",
  "equipaje de mano", "pets and seats"): the knowledge-base action offers its articles. DIET
  took "refund" and "reembolso" for complaints (a person, with high priority), "pets" for a
  yes, "equipaje" for a greeting and "mascotas" for off-topic.

Apart from these, DIET's `ask_human` stands only when the message names a person, a role or
talking to one (`names_a_person`): DIET read demands as requests for a person ("no quiero un
bono, quiero que me devolváis la pasta", "i dont want a voucher, i want actual money back"),
which the knowledge base answers. Nor does DIET's `out_of_scope` stand when the message names the
customer's luggage, refund or booking (`names_a_care_subject`): a route or a city in it ("no me
ha llegado la maleta, vuelo de Londres a Madrid") made DIET sure it was off-topic, since its
off-topic examples ask about routes. Nor when it names an errand of the customer's own trip
(changing or buying a flight, checking in, a child flying alone): "quiero pasar mi vuelo del
viernes al domingo cuanto me sale??" was off-topic at 0.99, like the examples that ask fares. The
knowledge-base action still declines a message nearer an off-topic example than any article.

DIET took "tengo una duda" and "no entiendo" for `goodbye` ("Take care and have a great
flight!"), "I need help" for `deny`, "I have a question" and "espera" for its fallback (a person
at once), "un momento" for `ask_human` and "una cosa más" for `out_of_scope` (declined).
Teaching DIET new intents moved unrelated questions to `complaint` (the question/complaint
boundary is thin), so these phrases are recognised by their whole wording instead: a greeting,
a mention, "ok" or "please" may come around them, nothing else may. "I need help with my
booking" or "no entiendo por qué me cobrasteis dos veces" say what they are about: they are
left to DIET.

Pure Python, no Rasa: the component (relevo_phrase_intent.py) runs it in Rasa's environment and
the tests run it in the app's.
"""

from __future__ import annotations

import re
import unicodedata

ASK_FOR_HELP = "ask_for_help"
HOLD_ON = "hold_on"
NOT_UNDERSTOOD = "not_understood"
QUESTION = "question"  # the catch-all intent: the knowledge-base action
ASK_HUMAN = "ask_human"
OUT_OF_SCOPE = "out_of_scope"
GREET, AFFIRM, GOODBYE = "greet", "affirm", "goodbye"

_BEFORE = (
    r"(?:(?:please|pls|ok|okay|vale|sorry|perdon|perdona|oops|hi|hello|hey|hiya|good morning"
    r"|good afternoon|good evening|hola|buenas|buenas tardes|buenas noches|buenos dias|there"
    r"|team|all|brisa|air|equipo) )*"
)
_AFTER = r"(?: (?:please|pls|plz|por favor|porfa|porfavor|xfa|plis|thanks|gracias))*"
_PLACE = (
    r"first|1st|second|2nd|third|3rd|last|one|two|three|1|2|3|4|1o|1a|2o|2a|3o|3a"
    r"|primero|primera|primer|segundo|segunda|tercero|tercera|tercer|ultimo|ultima|uno|dos|tres"
)
# Subjects of the brand's customer care, as customers name them in one to three words.
_SUBJECT = (
    r"baggage|luggage|bags?|suitcases?|hand luggage|hand baggage|cabin bags?|cabin baggage"
    r"|carry ?on|checked bags?|checked baggage|checked luggage|extra bags?|excess baggage"
    r"|lost bags?|lost luggage|delayed bags?|damaged bags?|lost items|lost and found"
    r"|refunds?|refund status|cancellations?|bookings?|reservations?|my trips|check ?in"
    r"|online check ?in|boarding pass(?:es)?|seats?|seat selection|pets?|dogs?|cats?"
    r"|wi ?fi|meals?|food|menu|invoices?|receipts?|miles|points|brisa club|loyalty"
    r"|compensation|delays?|flight delays?|missed connections?|connections?|payments?"
    r"|flight changes?|name change|unaccompanied minors?|pregnancy|special assistance"
    r"|wheelchairs?|group bookings?|sports equipment|musical instruments?"
    r"|equipajes?|maletas?|equipaje de mano|equipaje facturado|maleta facturada|facturacion"
    r"|maletas? perdidas?|maletas? rotas?|equipaje perdido|objetos perdidos|reembolsos?"
    r"|devoluciones|devolucion|cancelaciones|cancelacion|reservas?|mis viajes|tarjetas? de embarque"
    r"|asientos?|mascotas?|perros?|gatos?|comidas?|menus?|facturas?|recibos?|millas|puntos"
    r"|compensaciones|compensacion|indemnizaciones|indemnizacion|retrasos?|conexiones|conexion"
    r"|pagos?|cambios? de vuelo|cambios? de nombre|menores no acompanados|menores|embarazo"
    r"|asistencia especial|sillas? de ruedas|reservas? de grupo|grupos|material deportivo"
    r"|instrumentos? musicales?"
)
# A booking code (six letters and digits, both; not a flight number) or a refund reference.
_CODE = r"(?:(?![a-z]{2}[0-9]{4}\b)(?=[a-z0-9]*[0-9])(?=[a-z0-9]*[a-z])[a-z0-9]{6}|rf ?[0-9]{4,})"
_NAMING_A_CODE = (
    r"(?:(?:my|mi|the|el|la) )?(?:(?:booking|reservation|reserva|localizador|booking code"
    r"|codigo de reserva|codigo|code|reference|referencia|ref|refund reference) )?(?:(?:is|es) )?"
)
_OF = (
    r"(?:(?:info|information|informacion)(?: (?:about|on|sobre|de))? )?"
    r"(?:(?:my|the|our|about|mi|mis|el|la|los|las|sobre|del) )?"
)

_PHRASES: dict[str, tuple[str, ...]] = {
    ASK_FOR_HELP: (
        r"(?:i )?(?:have|ve got|got) (?:a|one|another|one more|a quick|a small|a few"
        r"|a couple of|some|two) (?:quick )?(?:question|questions|query|queries|doubt|doubts)"
        r"(?: for (?:you|u))?",
        r"(?:a |one )?quick (?:question|q)",
        r"(?:another|one more) (?:question|thing)",
        r"(?:a )?question",
        r"something else",
        r"(?:i )?(?:need|want) (?:some |a little )?(?:help|info|information|assistance)",
        r"help(?: me)?",
        r"(?:can|could) (?:you|u) help(?: me)?(?: with something| out)?",
        r"(?:can|could|may) i ask (?:you |u )?(?:something|a question|a quick question)",
        r"what (?:else )?can (?:you|u) (?:do|help (?:me )?with)",
        r"(?:tengo|traigo) (?:una|otra|un par de|unas|dos|varias) (?:duda|dudas|pregunta"
        r"|preguntas|consulta|consultas|preguntita|dudilla)(?: rapida| rapidita)?",
        r"(?:una|otra) (?:duda|pregunta|consulta|preguntita|dudilla|cosa|cosita)"
        r"(?: rapida| rapidita| mas)?",
        r"necesito (?:ayuda|informacion|info)",
        r"ayuda(?:me)?",
        r"(?:me )?(?:puedes|podeis|podrias|podriais|pueden) ayudar(?:me)?",
        r"me (?:ayudas|ayudais|ayuda|echas una mano|echais una mano)",
        r"(?:te |os |les )?(?:puedo|podria) (?:hacer|preguntar(?:te|os)?) "
        r"(?:una pregunta|una consulta|algo)",
        r"(?:te |os )?(?:puedo|podria) preguntar(?:te|os)? algo",
        r"queria (?:consultar|preguntar(?:te|os)?) (?:una cosa|algo)",
        r"(?:que|en que) (?:puedes|sabes|me puedes|me podeis) (?:hacer|ayudar)",
    ),
    HOLD_ON: (
        r"wait(?: a (?:sec|second|moment|minute))?",
        r"hold on(?: a (?:sec|second|moment|minute))?",
        r"(?:just )?(?:one|a) (?:sec|second|moment|min|minute)",
        r"give me a (?:sec|second|moment|minute)",
        r"brb|be right back|(?:i m |im )?back|let me (?:check|look|see)",
        r"espera(?:d)?(?: un (?:momento|momentito|segundo|poco|minuto))?",
        r"un (?:momento|momentito|segundo|seg|minuto|minutito)",
        r"dame un (?:momento|segundo|minuto)",
        r"ya estoy(?: aqui| de vuelta)?|ya volvi|(?:ahora |enseguida )?vuelvo",
        r"dejame (?:ver|mirar|comprobar)|lo miro",
    ),
    NOT_UNDERSTOOD: (
        r"(?:i )?(?:dont|do not) (?:understand|get it|follow)(?: (?:that|you|the answer))?",
        r"what do (?:you|u) mean|what|huh|(?:i m |im )?confused|that makes no sense",
        r"no (?:lo |te )?entiendo(?: nada)?|no me entero|no lo pillo|no me queda claro",
        r"que quieres decir|que|como|eh|no lo tengo claro|estoy perdid[oa]",
    ),
    GREET: (
        r"(?:are |r )?(?:you|u) (?:still )?there|(?:is )?any ?(?:one|body) there|hello anyone",
        r"(?:estas|sigues|seguis|estais) ahi|hay alguien(?: ahi)?|me (?:oyes|lees)",
    ),
    AFFIRM: (
        r"(?:ok |okay )?(?:understood|got it|all good|noted)",
        r"(?:vale |ok )?(?:entendido|de acuerdo|anotado|todo claro)",
    ),
    GOODBYE: (
        r"(?:thats|that is|that s) all(?: for now| for today)?|nothing (?:else|more)",
        r"(?:eso )?(?:es|era) todo|nada mas|ya esta",
    ),
    QUESTION: (
        r"(?:(?:i ll take|ill take|i want|quiero|me quedo con|prefiero) )?"
        rf"(?:the |el |la |lo |number |numero |option |opcion |la opcion |el numero )?(?:{_PLACE})"
        r"(?: one| uno| una| option| opcion)?",
        rf"{_OF}(?:{_SUBJECT})(?: (?:and|or|y|o|e) {_OF}(?:{_SUBJECT}))?",
        rf"{_NAMING_A_CODE}{_CODE}",
    ),
}
# Who or what a request for a person names: someone, a role, the people of a service, talking
# or calling, or the bot itself ("not a bot"). Every `ask_human` example of nlu/data names one.
_PERSON = re.compile(
    r"\b(?:humans?|humanos?|humanas?|persons?|personas?|people|gente|agents?|agentes?|asesor"
    r"|asesora|operador|operadora|operator|representative|representante|rep|supervisor"
    r"|manager|encargad[oa]|responsable|alguien|someone|somebody|anyone|anybody|staff"
    r"|employee|emplead[oa]|real|customer (?:service|care|support)|atencion al cliente"
    r"|servicio al cliente|hablar|habla|hablo|talk|speak|llamar|llamad|llamame|call|chat"
    r"|bot|robot|chatbot|maquina|machine|transfer|transfiere|pasame|pasadme|derivar"
    r"|contactar|contact)\b"
)
# The customer's own luggage, refund or booking: what a message about them asks is the brand's
# care, whatever else it names ("no me ha llegado la maleta, vuelo de Londres a Madrid").
_CARE = re.compile(
    r"\b(?:maletas?|equipajes?|valijas?|luggage|baggage|bags?|suitcases?|reembolsos?|refunds?"
    r"|devolucion|reservas?|bookings?|localizador|tarjetas? de embarque|boarding pass(?:es)?)\b"
)
# What the customer does with their own trip: changing or buying a flight, checking in, a child
# flying alone. DIET's off-topic examples ask fares and routes ("cuanto cuesta el vuelo
# Madrid-Paris de mañana?"), so it read a change of flight that asks the price as one of them.
_ERRAND = re.compile(
    r"\b(?:cambiar|cambio|pasar|mover|adelantar|atrasar|swap|change|move|switch|sacar|comprar"
    r"|book|buy)(?: \w+){0,3} (?:(?:mis?|my|el|la|the|un|una|a) )?"
    r"(?:vuelos?|billetes?|pasajes?|boletos?|vuelta|ida|flights?|tickets?|return)\b"
    r"|\b(?:facturar|facturo|facturamos|check in)\b"
    r"|\b(?:ninos?|ninas?|crios?|crias?|hij[oa]s?|menores|kids?|children|child|son|daughter)"
    r"(?: \w+){0,5} (?:solos?|solas?|sin (?:sus |su )?padres|alone|unaccompanied)\b"
)
_MATCHERS = {
    intent: re.compile(rf"{_BEFORE}(?:{'|'.join(phrases)}){_AFTER}")
    for intent, phrases in _PHRASES.items()
}


def _words(text: str) -> str:
    """Lower-case words without accents, mentions, emoji or punctuation, one space apart."""
    text = re.sub(r"@\w+", " ", text.lower())
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("'", "").replace("’", "")  # "i've" is "ive", "don't" is "dont"
    return " ".join(re.findall(r"[a-z0-9]+", text)).replace("ive got", "ve got")


def names_a_person(text: str) -> bool:
    """Whether the message names a person to talk to (`_PERSON`), as a request for one does."""
    return _PERSON.search(_words(text)) is not None


def names_a_care_subject(text: str) -> bool:
    """Whether it names the customer's luggage, refund or booking, or an errand of their trip."""
    words = _words(text)
    return _CARE.search(words) is not None or _ERRAND.search(words) is not None


def phrase_intent(text: str) -> str | None:
    """The intent the message's whole wording says (module docstring), or None."""
    words = _words(text)
    if not words:
        return None
    return next((i for i, m in _MATCHERS.items() if m.fullmatch(words) is not None), None)
