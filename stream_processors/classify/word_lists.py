"""Word lists the policy rules read: offensive terms, first names, clinical terms, people who
need consent before they are photographed.

Data only. Entries are lower-case regular-expression fragments, matched on whole words of the
case-folded text (so they match in any case; a capital letter in one is refused at import).
The offensive terms are spelt out because the matcher needs them; each comment names them
masked, so the file can be reviewed without reading them in full. Add a term where it belongs and
add a case that must fire (and a near miss if the word has an innocent meaning) to
tests/data/policy_cases.yaml.
"""

from __future__ import annotations

# Slurs and discriminatory terms, by the protected characteristic they attack (Equality Act
# 2010). "profanity" is not a protected characteristic but is never acceptable on an official
# account either.
OFFENSIVE_TERMS: dict[str, tuple[str, ...]] = {
    "race": (
        r"nigg(?:er|a|ah|az|as|ers)",  # n*****, the n-word and its variants
        r"pakis?",  # p***, anti-South-Asian
        r"chinks?|chinky",  # c****, anti-East-Asian
        r"gooks?",  # g***
        r"wogs?|golliwogs?",  # w**, g*******
        r"coons?",  # c***
        r"spics?",  # s***
        r"wetbacks?",  # w******
        r"darkies?|darky",  # d*****
        r"half[- ]castes?",  # h***-c****
        r"jungle[- ]bunn(?:y|ies)",  # j***** b****
        r"kaffirs?",  # k*****
        r"gypp?os?|gyppies|pikeys?",  # g****, p****, anti-Traveller
    ),
    "religion": (
        r"kikes?",  # k***, antisemitic
        r"yids?",  # y**, antisemitic
        r"christ[- ]killers?",  # c*****-k******
        r"rag[- ]?heads?|towel[- ]?heads?",  # r******, t*******
        r"muzzies?|muzrats?",  # m*****, anti-Muslim
        r"taigs?",  # t***, sectarian
    ),
    "sexual_orientation": (
        r"faggots?|faggy",  # f*****; see BENIGN_CONTEXTS for the meatballs
        r"poofs?|poofters?|pooves",  # p****
        r"dykes?",  # d***; see BENIGN_CONTEXTS for place names
        r"lesbos",  # l*****
        r"homos?",  # h***; see BENIGN_CONTEXTS for the species
        r"batty[- ]?boys?|bum[- ]?boys?",  # b***** b**
        r"shirt[- ]lifters?",  # s**** l******
        r"nancy[- ]boys?",  # n**** b**
    ),
    "gender_reassignment": (
        r"trann(?:y|ies)",  # t*****
        r"shemales?|she-males?",  # s******
        r"he-shes?",  # h*-s**
        r"ladyboys?",  # l*******
        r"trans[- ]?trenders?",  # t**** t******
    ),
    "sex": (
        r"sluts?|slutty",  # s***
        r"whores?",  # w****
        r"slags?",  # s***; see BENIGN_CONTEXTS for "slag off" and slag heaps
        r"skanks?|skanky",  # s****
        r"bitch(?:es|y)?",  # b****
        r"feminazis?",  # f*******
    ),
    "disability": (
        r"retards?|retarded",  # r*****
        r"spastics?",  # s******; see BENIGN_CONTEXTS for the clinical terms
        r"spaz(?:z|zy|zes)?|spacker",  # s***
        r"mongs?|mongoloids?",  # m***
        r"window[- ]lickers?",  # w***** l*****
        r"schizos?",  # s*****
        r"psychos?",  # p*****
        r"nutters?|loon(?:y|ies)",  # n*****, l****
        r"midgets?",  # m*****
        r"deaf and dumb",  # d*** and d***, outdated and demeaning
    ),
    "age": (
        r"coffin[- ]dodgers?",  # c***** d******
        r"bed[- ]blockers?",  # b** b*******: older patients awaiting discharge
        r"old (?:biddy|biddies|crones?|hags?|codgers?|fossils?|duffers?|gits?)",  # o** b****
        r"wrinklies",  # w********
        r"ok,? boomer",  # o* b*****
    ),
    "profanity": (
        r"fuck\w*|f\*+k\w*|motherfuck\w*",  # f***
        r"cunts?",  # c***
        r"wank(?:er|ers|ing)?",  # w*****
        r"twats?",  # t***
        r"shite?|shitty|bullshit",  # s***
    ),
}

# Generalising, demeaning statements about a group, with no slur in them.
DISCRIMINATORY_PHRASES: tuple[str, ...] = (
    r"go (?:back )?(?:home )?to (?:your (?:own )?country|where (?:you|they) (?:came|come) from)",
    r"(?:bloody|fucking|filthy|dirty|typical) (?:immigrants|foreigners|muslims|jews|gays|poles"
    r"|romanians|asians|blacks|pakistanis|africans|migrants|refugees|trans people|lesbians)",
    r"(?:women|girls) (?:belong|should stay) in the kitchen",
    r"too old to (?:be of any use|understand anything|be worth)",
    r"not a real (?:woman|man)",
)

# Innocent uses of words in OFFENSIVE_TERMS: a term inside one of these matches does not count.
BENIGN_CONTEXTS: tuple[str, ...] = (
    r"faggots? (?:and|with|&|in) (?:peas|gravy|mash|chips|onions?|mushy peas)",
    r"(?:peas|gravy|mash|menu|serving|homemade|home-made|brains) (?:and |with |& )?faggots?",
    r"spastic(?:ity)? (?:paraplegia|diplegia|quadriplegia|hemiplegia|paraparesis"
    r"|cerebral palsy|dysphonia|colon)",
    r"hereditary spastic",
    r"offa'?s dyke|dyke road|devil'?s dyke|dyke (?:lane|street|house)",
    r"homo sapiens|homo erectus",
    r"slag(?:s|ging|ged)? (?:off|heaps?)",
    r"psycho(?:-| )?(?:social|therapy|logical|logist)",
)

# Given names common in the UK (ONS baby-name lists across the last eighty years). An untitled
# "Firstname Surname" only counts as a person's name when the first word is in this list, which
# keeps "Northbrook General" and "Sepsis Trust" out.
_FIRST_NAMES_TEXT = (
    "Aaron Abdul Abigail Adam Adrian Ahmed Aidan Aisha Alan Albert Alex Alexander Alfie Ali Alice"
    " Alison Amanda Amber Amelia Amina Amir Amy Andrew Angela Ann Anna Anne Annie Anthony Archie"
    " Arthur Ashley Audrey Ava Barbara Barry Ben Benjamin Bernard Beryl Beth Betty Bill Billy"
    " Brenda Brian Bridget Callum Carl Carol Caroline Catherine Charles Charlie Charlotte Chloe"
    " Chris Christine Christopher Claire Colin Connor Craig Daniel Danny Darren Dave David Dawn"
    " Dean Deborah Debbie Dennis Derek Diane Doris Dorothy Edith Edward Eileen Eleanor Elizabeth"
    " Ella Ellie Emily Emma Eric Ethan Eve Evelyn Fatima Finley Fiona Florence Frank Freddie Freya"
    " Gary Gemma Geoffrey George Georgia Gillian Gladys Glenn Gordon Grace Graham Hannah Harry"
    " Harvey Hassan Hazel Heather Helen Henry Holly Ian Imran Irene Isabella Isla Isaac Ivy Jack"
    " Jacob Jacqueline James Jamie Jane Janet Janice Jason Jean Jennifer Jessica Jill Joan Joanne"
    " Joe John Jonathan Joseph Joshua Joyce Judith Julie June Karen Kate Katie Kathleen Kayleigh"
    " Keith Kelly Kenneth Kevin Kieran Kim Kirsty Laura Lauren Lee Leo Leon Lesley Lewis Liam"
    " Lily Linda Lisa Logan Louise Lucy Luke Lynn Margaret Maria Marie Mark Martin Mary Matthew"
    " Maureen Megan Mia Michael Michelle Mildred Mohammed Muhammad Molly Natalie Nathan Neil"
    " Nicholas Nicola Noah Norman Oliver Olivia Oscar Pamela Patricia Patrick Paul Pauline Peter"
    " Philip Phoebe Poppy Priya Rachel Raj Rebecca Reece Richard Rita Robert Roger Ronald Rose"
    " Rosie Ruby Ryan Sally Samantha Samuel Sandra Sarah Scott Sean Sharon Sheila Shirley Simon"
    " Sophie Stacey Stanley Stephen Steven Stuart Susan Sylvia Teresa Terry Theo Thomas Tom Tony"
    " Tracey Tracy Valerie Vera Victoria Vincent Wayne William Yusuf Zara Zoe"
)
FIRST_NAMES: tuple[str, ...] = tuple(_FIRST_NAMES_TEXT.split())

# Diagnoses and conditions that, next to a name, make a post patient-identifiable.
CONDITIONS: str = (
    r"sepsis|septic shock|cancer|leukaemia|lymphoma|tumou?r|stroke|dementia|alzheimer'?s"
    r"|parkinson'?s|diabetes|covid(?:-19)?|pneumonia|flu|norovirus|mrsa|c\.? ?diff|infection"
    r"|fracture[sd]?|broken (?:hip|leg|arm|wrist|ankle|neck)|heart attack|cardiac arrest"
    r"|heart failure|kidney failure|renal failure|overdose|miscarriage|stillbirth|hiv"
    r"|hepatitis [abc]?|tuberculosis|meningitis|epilepsy|seizures?|asthma|copd|head injury"
    r"|burns|psychosis|schizophrenia|bipolar|depression|anorexia|cirrhosis|multiple sclerosis"
    r"|motor neurone disease|sickle cell|cystic fibrosis|pre-eclampsia|an amputation"
)

# Words for children and for adults at risk, whose images need recorded consent.
CHILDREN: tuple[str, ...] = (
    r"child(?:ren)?|kids?|kiddies|bab(?:y|ies)|newborns?|toddlers?|infants?|sons?|daughters?"
    r"|pupils?|schoolchildren|school ?kids|schoolgirls?|schoolboys?|baby (?:boy|girl)s?"
    r"|little (?:boy|girl|one)s?|boys and girls|teens?|teenagers?|young people|youngsters?"
    r"|twins|triplets|grandchildren|grandson|granddaughter|year [1-9] class|under[- ]?(?:5|fives)"
    r"|premature|premmie|prem baby|(?:youngest|young|little|smallest|tiniest) patients"
    # An age under 18 written out: "Ruby, aged 4", "a 12-year-old".
    r"|aged (?:[1-9]|1[0-7])|(?:[1-9]|1[0-7])[- ]years?[- ]olds?",
)
VULNERABLE_ADULTS: tuple[str, ...] = (
    r"(?:patients?|people|residents?|adults?) (?:with|living with) (?:dementia|learning "
    r"disabilit(?:y|ies)|autism|alzheimer'?s)|dementia patients?|vulnerable (?:adults?|patients?"
    r"|people)|care home residents?|nursing home residents?|end[- ]of[- ]life|palliative care"
    r"|hospice patients?|mental health (?:inpatients?|patients?)|sectioned|frail elderly"
    r"|elderly patients?|learning disabilit(?:y|ies)",
)
# Mentions of those words that name a place, an event or a service rather than people.
NOT_PEOPLE: tuple[str, ...] = (
    r"children'?s (?:ward|unit|hospital|services?|centre|department|outpatients|a&e"
    r"|emergency department|play ?(?:area|room|specialists?)|charity|wing|team|nurses?"
    r"|book week)",
    r"children in need",
    r"baby[- ]chang(?:ing|e)",
    r"baby ?(?:friendly|loss awareness)",
    r"sons? (?:and|&) daughters? of rest",
    r"(?:dementia|learning disabilit(?:y|ies)) (?:awareness|action) (?:week|day|month)",
)
