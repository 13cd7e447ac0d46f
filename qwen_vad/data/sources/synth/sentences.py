"""Sentences for the synthetic talkers: a fixed bank per language, built from templates.

Each sentence is subject + verb + object + adverbial, all third person singular in the past, so
every combination is grammatical. The bank is a fixed, evenly spread subset of all combinations
(an arithmetic stride, not a random shuffle, so it cannot change with a library version), plus
hand-written English sentences for variety of rhythm. No punctuation: espeak-ng inserts long
pauses at commas and full stops, and pauses would land silence in the centre cuts.
"""

from __future__ import annotations

import functools
import math

# How many template sentences each language contributes to its bank.
TEMPLATE_SENTENCES_PER_LANGUAGE = 300

TEMPLATES: dict[str, tuple[tuple[str, ...], ...]] = {
    "en": (
        (
            "The old farmer", "My younger sister", "A tired traveller", "The new teacher", "Our neighbour",
            "The quiet student", "A young doctor", "The station manager", "Her grandfather", "The baker",
            "A clever engineer", "The village painter", "His best friend", "The night nurse", "A local musician",
        ),
        (
            "carried", "painted", "found", "borrowed", "repaired", "described", "noticed", "wanted",
            "brought", "cleaned", "ordered", "remembered",
        ),
        (
            "a heavy wooden basket", "the broken garden gate", "seven yellow candles", "an old leather suitcase",
            "the morning newspaper", "a bright red bicycle", "two cups of coffee", "the long kitchen table",
            "a map of the mountains", "the silver pocket watch", "a bag of green apples", "the heavy winter coat",
        ),
        (
            "early this morning", "before the storm arrived", "near the river bank", "after a long day at work",
            "on the way to the market", "in the middle of the night", "without saying a word",
            "for the second time this week", "just before lunch", "behind the old church",
        ),
    ),
    "de": (
        (
            "Der alte Bauer", "Meine kleine Schwester", "Ein müder Reisender", "Die neue Lehrerin", "Unser Nachbar",
            "Der junge Arzt", "Die Bäckerin", "Sein bester Freund", "Der Ingenieur", "Die Malerin",
        ),
        ("trug", "fand", "reparierte", "suchte", "kaufte", "brachte", "beschrieb", "bestellte"),
        (
            "einen schweren Korb", "das kaputte Gartentor", "sieben gelbe Kerzen", "einen alten Koffer",
            "die Morgenzeitung", "ein rotes Fahrrad", "zwei Tassen Kaffee", "den langen Küchentisch",
            "eine Karte der Berge", "einen warmen Mantel",
        ),
        (
            "am frühen Morgen", "vor dem Gewitter", "in der Nähe des Flusses", "nach einem langen Arbeitstag",
            "auf dem Weg zum Markt", "mitten in der Nacht", "ohne ein Wort zu sagen", "kurz vor dem Mittagessen",
        ),
    ),
    "fr": (
        (
            "Le vieux fermier", "Ma petite soeur", "Un voyageur fatigué", "La nouvelle institutrice", "Notre voisin",
            "Le jeune médecin", "La boulangère", "Son meilleur ami", "L'ingénieur", "La femme du peintre",
        ),
        ("portait", "trouva", "répara", "chercha", "acheta", "apporta", "décrivit", "commanda"),
        (
            "un grand panier", "la vieille porte du jardin", "sept bougies jaunes", "une valise en cuir",
            "le journal du matin", "un vélo rouge", "deux tasses de café", "la longue table de la cuisine",
            "une carte des montagnes", "un manteau chaud",
        ),
        (
            "tôt ce matin", "avant l'orage", "près de la rivière", "après une longue journée de travail",
            "sur le chemin du marché", "au milieu de la nuit", "sans dire un mot", "juste avant le déjeuner",
        ),
    ),
    "es": (
        (
            "El viejo granjero", "Mi hermana pequeña", "Un viajero cansado", "La nueva maestra", "Nuestro vecino",
            "El joven médico", "La panadera", "Su mejor amigo", "El ingeniero", "La pintora del pueblo",
        ),
        ("llevaba", "encontró", "reparó", "buscó", "compró", "trajo", "describió", "pidió"),
        (
            "una cesta pesada", "la puerta rota del jardín", "siete velas amarillas", "una maleta de cuero",
            "el periódico de la mañana", "una bicicleta roja", "dos tazas de café", "la mesa larga de la cocina",
            "un mapa de las montañas", "un abrigo de invierno",
        ),
        (
            "muy temprano esta mañana", "antes de la tormenta", "cerca del río",
            "después de un largo día de trabajo",
            "camino del mercado", "en medio de la noche", "sin decir una palabra", "justo antes de comer",
        ),
    ),
    "it": (
        (
            "Il vecchio contadino", "Mia sorella minore", "Un viaggiatore stanco", "La nuova maestra",
            "Il nostro vicino",
            "Il giovane medico", "La fornaia", "Il suo migliore amico", "L'ingegnere", "La pittrice del paese",
        ),
        ("portava", "trovò", "riparò", "cercò", "comprò", "portò", "descrisse", "ordinò"),
        (
            "un cesto pesante", "il vecchio cancello del giardino", "sette candele gialle", "una valigia di pelle",
            "il giornale del mattino", "una bicicletta rossa", "due tazze di caffè", "il lungo tavolo della cucina",
            "una mappa delle montagne", "un cappotto pesante",
        ),
        (
            "questa mattina presto", "prima del temporale", "vicino al fiume", "dopo una lunga giornata di lavoro",
            "sulla strada per il mercato", "nel mezzo della notte", "senza dire una parola", "poco prima di pranzo",
        ),
    ),
}

ENGLISH_LITERALS = (
    "The wind carried the smell of fresh bread down the narrow street",
    "Please remember to close the window before you leave the house",
    "We waited for the last train until almost midnight",
    "A small boat drifted slowly across the calm grey lake",
    "She told me that the meeting had been moved to Thursday afternoon",
    "The children laughed and ran across the wet green field",
    "Turn left at the bakery and walk straight on for two blocks",
    "Nobody expected the concert to sell out in less than an hour",
    "He spent the whole weekend fixing the roof of the garden shed",
    "The museum opens at nine and closes late on Fridays",
    "I think we should leave now if we want to catch the bus",
    "The soup needs a little more salt and a pinch of pepper",
    "They planted three apple trees along the southern wall",
    "Could you tell me how far it is to the nearest pharmacy",
    "The old radio still works if you hit it on the side",
    "Every morning the fisherman checked his nets before sunrise",
    "The library will be closed on Monday for repairs",
    "My phone battery died just as the taxi arrived",
    "The committee agreed to review the budget again next month",
    "Snow fell quietly on the rooftops all through the night",
    "Bring a warm jacket because it gets cold up in the hills",
    "The recipe calls for two eggs and a cup of flour",
    "Our flight was delayed by three hours because of fog",
    "He read the letter twice and then put it back in the drawer",
    "The dog waited patiently by the door for its owner",
    "We painted the living room a soft shade of blue",
    "Let me know when you are ready and I will start the car",
    "The river rose quickly after a week of heavy rain",
    "A strange noise came from the engine on the way home",
    "She finally finished the novel she started last summer",
    "The market sells fresh fish and vegetables every Saturday",
    "I would like a table for four near the window please",
    "The bridge was closed so we had to take the long way round",
    "Most of the guests arrived just after seven in the evening",
    "The teacher asked everyone to read the first chapter by Friday",
    "Hot tea and a quiet room are all I need tonight",
    "The team practised for hours in the afternoon sun",
    "Somebody left a blue umbrella on the bench by the station",
    "The garden looks beautiful when the roses are in bloom",
    "It took them almost a year to build the little cabin",
)


def _combinations(parts: tuple[tuple[str, ...], ...], count: int) -> tuple[str, ...]:
    """``count`` distinct sentences spread evenly over the full template product.

    Index i maps to combination (i * stride) mod total, decoded in mixed radix; a stride
    coprime with the total visits distinct combinations, and a large stride makes consecutive
    sentences differ in every slot.
    """
    sizes = [len(slot) for slot in parts]
    total = math.prod(sizes)
    stride = next(s for s in range(total // 3 + 1, total) if math.gcd(s, total) == 1)
    sentences = []
    for i in range(min(count, total)):
        code = i * stride % total
        words = []
        for slot, size in zip(parts, sizes):
            code, choice = divmod(code, size)
            words.append(slot[choice])
        sentences.append(" ".join(words))
    return tuple(sentences)


@functools.cache
def sentence_bank(language: str) -> tuple[str, ...]:
    """Every sentence a talker of ``language`` (en, de, fr, es, it) may say, in a fixed order."""
    if language not in TEMPLATES:
        raise ValueError(f"no sentences for language {language!r}; choose one of {sorted(TEMPLATES)}")
    literals = ENGLISH_LITERALS if language == "en" else ()
    return _combinations(TEMPLATES[language], TEMPLATE_SENTENCES_PER_LANGUAGE) + literals
