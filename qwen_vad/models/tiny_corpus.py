"""The small English corpus the tiny checkpoint's tokenizer is trained on.

It holds the project's prompts verbatim (so they tokenize into a handful of pieces, as with the
real Qwen tokenizer) and a few thousand words of plain English about sound, speech and everyday
life, enough for byte-level BPE to learn a vocabulary of a few thousand tokens.
"""

from __future__ import annotations

PROJECT_PROMPTS: tuple[str, ...] = (
    "You are a helpful assistant.",
    "Choose one:\nA) SPEECH (human voice)\nB) NONSPEECH (music/noise/silence/animals)\n\n"
    "Answer with A or B ONLY.",
    "Listen carefully to this audio clip.\n\nDoes it contain human speech?\n\n"
    "A) Yes - I hear human voice speaking\nB) No - I hear music, noise, silence, or non-human sounds\n\n"
    "Your answer:",
    "Task: Detect if human speech is present in this audio.\n\nA) SPEECH detected\nB) NO SPEECH detected\n\n"
    "Answer:",
    "Is there human speech in this audio?\n\nA) Yes\nB) No\n\nYour response:",
    "Classification task: SPEECH vs NONSPEECH\n\nListen to the audio.\n\n"
    "A = Contains human voice\nB = Does not contain human voice\n\nSelect:",
)

ENGLISH_TEXT = """
The answer is A. The answer is B. I choose A. I choose B. Option A or option B? A or B, SPEECH or NONSPEECH.
A means SPEECH and B means NONSPEECH. Say A if you hear a person talking, otherwise say B.
Speech, speaking, speaker, spoken, voice, voices, vocal, talking, talk, said, says, conversation.
Nonspeech sounds include music, noise, silence, animals, birds, dogs, cats, rain, wind and traffic.
Audio clip, audio clips, short clip, very short clips of two hundred milliseconds, half a second, one second.
Signal to noise ratio, decibels, dB, minus five, zero, plus five, ten, twenty; clean and noisy recordings.
Voice activity detection decides, for every frame, whether a human voice is present or absent.
A classic detector looks at energy, pitch and spectral shape; a neural detector learns them from data.
The model listens to the sound and writes one letter as its answer, either A or B, and nothing else.
Please listen carefully to the following recording and describe what you hear in a few words.
What is the sound in this audio? It sounds like a dog barking in the distance while a car passes by.
The woman is reading a story aloud to the children, and her voice is calm and clear.
A man shouts across the street; a bus brakes; somebody laughs; the crowd murmurs.
The orchestra plays a slow piece for strings, and the piano answers with a soft melody.
Rock music with loud drums, electric guitar and bass; a jazz trio; classical violin; pop songs with singing.
Singing is a human voice, but it is music as well, which makes it a hard case for detection.
White noise, pink noise, brown noise, hum, hiss, static, crackle, and the steady whirr of a fan.
Environmental sounds: footsteps, doors closing, keyboard typing, glass breaking, water running, clock ticking.
Animal sounds: birds singing at dawn, a cow mooing, a rooster crowing, frogs croaking, insects buzzing.
Human non-speech sounds: coughing, sneezing, breathing, snoring, clapping, laughing, crying, whistling.
Thunder rolls over the hills while heavy rain falls on the roof and the gutters overflow.
The engine of the airplane roars, the helicopter circles, the train rattles over the bridge.
In the kitchen the kettle whistles, the pan sizzles, and the microwave beeps three times.
She asked him whether he would come tomorrow, and he said that he would try to be there early.
They talked for hours about music, books, films, travel, food, and the people they had met.
Good morning! How are you today? I am fine, thank you. What time is it? It is half past nine.
Could you repeat that, please? I did not hear what you said because the room was too noisy.
The weather will be sunny in the morning, cloudy in the afternoon and rainy in the evening.
Scientists measure accuracy, precision, recall and the F1 score for every class and condition.
The threshold is chosen on the development set and then applied, unchanged, to the test set.
Calibration compares the confidence of the model with how often it is actually right.
A psychometric curve shows accuracy as a function of the signal to noise ratio.
Fine-tuning with low-rank adapters changes only a small number of parameters of the large model.
The loss is computed only on the answer token, so the model learns to choose between the letters.
An optimizer proposes new prompts, scores them on the development set, and keeps the best ones.
Each experiment is described by a configuration file and writes its results into its own folder.
Numbers: 0 1 2 3 4 5 6 7 8 9 10 11 12 16 20 25 30 32 50 64 75 80 85 90 100 128 200 300 500 1000 16000.
Letters: A B C D E F G H I J K L M N O P Q R S T U V W X Y Z and a b c d e f g h i j k l m n o p.
Punctuation: period. comma, colon: semicolon; question? exclamation! (parentheses) "quotes" 'apostrophes' - dash / slash.
The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs.
Once upon a time there was a small village at the edge of a forest, where the river met the sea.
Every morning the baker opened his shop, and the smell of fresh bread filled the narrow streets.
The children played in the garden until their mother called them home for dinner.
In spring the trees turn green, in summer the fields are golden, in autumn the leaves fall, in winter it snows.
The library was quiet except for the turning of pages and the occasional whisper.
At the station, announcements echoed under the glass roof as travellers hurried to their platforms.
A teacher explains the lesson, a student asks a question, and the class discusses the answer together.
The radio host interviews a guest about her new book, and listeners call in with their questions.
The football match ended in a draw after the referee blew the final whistle.
The doctor listened to his heart and lungs, then wrote a prescription and told him to rest.
Market vendors call out their prices while customers bargain for fruit, vegetables, fish and flowers.
The meeting started late because the projector did not work and the microphone kept buzzing.
He played the drums in a band, she played the cello in an orchestra, and their son sang in a choir.
At night the city grows quiet, but sirens, distant music and the hum of traffic never fully stop.
The recording was made outdoors with a phone, so wind noise covers parts of the conversation.
Background chatter in a restaurant, cutlery clinking, a waiter taking orders, a baby crying softly.
A lecture in a large hall has strong reverberation, which blurs the consonants of the speaker.
Telephone speech is band limited between three hundred and three thousand four hundred hertz.
Whispered speech has no voicing, yet listeners still understand most of the words.
Children's voices are higher in pitch than adult voices, and their speech rate varies more.
A short burst of speech may contain only a single syllable, which makes detection difficult.
Music with lyrics, rap, opera, choirs and chanting all contain voices that sing rather than speak.
The sound of the ocean, waves breaking on the rocks, seagulls crying above the harbour.
A cat purrs on the sofa, a parrot repeats words it has learned, a horse neighs in the stable.
Machines in the factory hammer, grind and drill, and a loud alarm sounds at the end of the shift.
The language model reads the instruction, listens to the audio, and answers the question briefly.
Yes or no? True or false? Speech present or speech absent? Human voice or no human voice?
Detected, not detected, contains, does not contain, present, absent, heard, unheard, maybe, unsure.
Listen, hear, heard, hearing, listener, listening, sound, sounds, sounded, noisy, quiet, loud, soft.
Human, humans, person, people, man, woman, child, children, speaker, speakers, singer, singers.
Assistant, user, system, instruction, question, answer, response, prompt, task, choice, select, classify.
"""

# The words the chat template writes at the start of a line (after a special token), so they
# become single tokens as in the real vocabulary.
CHAT_TEMPLATE_WORDS: tuple[str, ...] = ("system\n", "user\n", "assistant\n", "Audio 1: ", "Audio 2: ") * 8

# The training text: prompts first so their merges are learned even with a small vocabulary.
TRAINING_TEXT: tuple[str, ...] = PROJECT_PROMPTS + CHAT_TEMPLATE_WORDS + tuple(
    line for line in ENGLISH_TEXT.strip().splitlines() if line.strip()
)
