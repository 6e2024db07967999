"""Vocabularies of the content guard: what a name is not, what a clinical context is, what a claim is.

Kept in one place so that a reviewer can read the whole rule set's wording at once.
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    """The whitespace-separated words of a block of text."""
    return frozenset(text.split())


# Capitalized words that are not personal names where the guard looks for one (sentence starts,
# titles in Title Case, words around "patient" or "diagnosed"). Lowercase here; compared lowercased.
NOT_NAMES = _words(
    """
    a an the this that these those there here it its i we you he she they me us him them my our your his her
    their mine ours yours theirs who whom whose what which when where why how if whether while as at by for
    from in into of on onto to with without about after before during since until all any each every both
    either neither some many most much more few several no none not nobody everyone everybody anyone anybody
    someone somebody people person persons patients patient survivors survivor fighters warriors families
    family caregivers caregiver loved ones women woman men man children child kids kid adults adult teens
    teen teenagers parents parent friends friend members member veterans veteran seniors senior elders
    neighbors residents volunteers staff team teams nurses nurse doctors doctor physicians physician
    oncologists oncologist clinicians providers provider hematologists surgeons donors donor newly recently
    just already still also only even again now then today tomorrow tonight yesterday morning afternoon
    evening night noon midnight week weekend month year day days weeks months years monday tuesday wednesday
    thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun january february march april
    may june july august september october november december jan feb mar apr jun jul aug sep sept oct nov
    dec spring summer fall autumn winter join register registration sign rsvp meet hear learn ask bring come
    visit watch listen see read call email text follow share celebrate celebrating honor honoring remember
    remembering thank thanks please welcome congratulations happy dear hello hi save missed miss coming
    upcoming next last first second third new free live online virtual hybrid in-person update updates
    reminder reminders tips tip guide faq q qa and or but so yes yet nor cancer cancers oncology hematology
    radiation chemo chemotherapy immunotherapy surgery treatment treatments therapy therapies care health
    healthcare medicine medical clinical clinic clinics hospital hospitals center centre centers institute
    foundation society association alliance network program programs service services support group groups
    circle club class classes workshop webinar seminar session sessions series forum panel talk lecture
    discussion discussions expert experts
    conference summit symposium fair expo screening screenings day walk run ride relay race gala brunch
    lunch luncheon dinner breakfast picnic retreat camp night event events meeting meetup open house tour
    celebration showcase spotlight reunion social mixer party potluck gathering roundtable town hall chat
    coffee tea cafe bingo concert recital exhibit exhibition film movie book reading luminaria vigil
    memorial ceremony dedication award awards recognition appreciation profile profiles portraits photos
    gallery connection connections corner hour kickoff launch orientation academy school university college
    course training basics essentials toolkit checklist resources roadmap pathway plan planning insights
    perspectives tribute stories spotlight edition chapter education educator navigator navigators advocate
    advocates advocacy portal experience safety stories story voices voice council board committee office
    department unit ward floor room lobby auditorium campus building library breast lung colon colorectal
    rectal prostate skin ovarian cervical uterine pancreatic liver kidney bladder brain blood bone marrow
    thyroid head neck stomach esophageal testicular pediatric childhood leukemia lymphoma myeloma melanoma
    sarcoma carcinoma mesothelioma glioma glioblastoma tumor tumors tumour mpn mpns myelofibrosis
    polycythemia thrombocythemia aml all cml cll hodgkin non-hodgkin stage stages phase grade type living
    life lives well wellness healing hope faith strength courage journey journeys fight battle survivorship
    awareness research science study studies trial trials news nutrition diet exercise yoga fitness
    mindfulness meditation art music sleep fatigue pain stress anxiety grief loss american americans arizona
    arizonans mexican hispanic hispanics latino latinos latina latinas native indigenous black white asian
    african national international annual community local regional state north south east west northeast
    northwest southeast southwest desert vista mesa phoenix tempe chandler gilbert scottsdale tucson
    glendale peoria valley county city dr doctor mr mrs ms miss mx prof professor rev sister brother father
    mother st saint parkinson alzheimer crohn addison graves huntington gehrig kaposi ewing wilms burkitt
    waldenstrom hashimoto sjogren raynaud paget bell down cushing tourette asperger lynch barrett zoom teams
    microsoft google youtube facebook instagram linkedin x twitter bluesky mastodon
    """
)

# Nouns for a patient (or someone who had an illness) placed right before a name: "our patient Maria".
PATIENT_NOUNS = r"(?:patients?|pt\.?|survivors?|fighters?|warriors?|thrivers?|pacientes?|sobrevivientes?)"

# Roles that follow "patient" without making the next word a patient: "patient navigator Maria".
PATIENT_ROLES = (
    r"(?:navigators?|advocates?|educators?|liaisons?|coordinators?|representatives?|relations|services|experience|"
    r"portal|education|care|safety|family|families|advisory|council|voices?|support|access|financial|transport)"
)

# What can follow a name to tell of that person's health (the person is the subject).
_CARE_OBJECTS = r"""(?:chemo\w*|radiation|surgery|surgeries|transplant|mastectomy|lumpectomy|biopsy|diagnosis|relapse|
   remission|cancer|leukemia|lymphoma|myeloma|melanoma|sarcoma|mpn|myelofibrosis|tumou?rs?|infusions?|dialysis|
   immunotherapy|treatments?|hospice|the\s+(?:chemo\s+|victory\s+|cancer\s+)?bell)"""
CLINICAL_PREDICATES = rf"""
(?:(?:who|that)\s+)?
(?:
  (?:was|is|has\s+been|had\s+been|got|just\s+got|were|are|have\s+been|fue|est[aá])\s+
    (?:(?:newly|recently|first|just|also|then|now|sadly|bravely|finally|successfully)\s+)?
    (?:diagnosed|diagnosticad[oa]|treated(?!\s+to\b)|admitted|readmitted|discharged|hospitali[sz]ed|intubated|
       transplanted|operated\s+on|cured|declared\s+cancer[- ]free|in\s+remission|in\s+hospice|terminally\s+ill|
       undergoing|recovering|living\s+with|suffering|sick|ill|cancer[- ]free|on\s+chemo\w*|on\s+dialysis|
       (?:a|our)\s+(?:\w+\s+){{0,2}}(?:patient|survivor)(?!\s+(?:navigator|advocate|educator|liaison|coordinator|
         representative|relations|services|experience|portal|education|care|safety|family|advisory|council|voice|
         support|access|financial)s?\b)|(?:in|out\s+of)\s+(?:the\s+)?(?:hospital|icu|er|hospice|remission|surgery))
| diagnosed\s+(?:with|in|at|on|last)
| relapsed | died | passed\s+away | is\s+dying
| (?:underwent|undergoes|completed|completes|finished|finishes|started|starts|began|begins|received|receives|
     needed|needs|had|has\s+had|went\s+through|goes\s+through|endured|beat|beats|survived|survives|overcame|battled|battles|battling|
     fought|fights|fighting|faces|faced|facing|rang|rings|will\s+ring)
  (?:\s+(?!(?:for|at|from|to|about|on|with|by|and|or|in)\b)(?:stage\s+\w+|[a-z]+)){{0,4}}\s+{_CARE_OBJECTS}\b
  (?!\s+(?:center|centre|institute|society|foundation|program|awareness|research|month|day|walk|run|fund|
      hospital|clinic|services?|network|alliance|team|unit|ward|support|group|coalition|council|education|class))
| (?:lost|loses)\s+(?:her|his|their)\s+(?:long\s+|brave\s+|courageous\s+)?(?:battle|fight)
| has\s+(?:stage\s+\w+\s+)?(?:(?:breast|lung|colon|prostate|skin|ovarian|pancreatic|brain|blood)\s+)?
     (?:cancer|leukemia|lymphoma|myeloma|melanoma|sarcoma|mpn|myelofibrosis|a\s+tumou?r|diabetes|hiv|aids|dementia)
)
"""

# The names of what a person has (or is treated for) after a possessive name: "Maria's diagnosis".
PERSONAL_CARE_NOUNS = r"""
(?:(?:own|recent|latest|first|last|second|ongoing|final|stage\s+\w+|breast|lung|colon|skin|blood|brain|prostate|
    ovarian|pancreatic|cancer|leukemia|lymphoma|myeloma|melanoma|mpn)\s+){0,3}
(?:diagnosis|chemo(?:therapy)?|radiation|surgery|transplant|journey|battle|fight|story|recovery|remission|
   prognosis|treatments?|tumou?r|cancer|leukemia|lymphoma|myeloma|melanoma|illness|condition|disease|scans?|
   biopsy|relapse|mastectomy|infusions?|hospital\s+stay|last\s+chemo|bell|obituary|passing|death|funeral)
"""
# Words that, right after a possessive + care noun, show it is an institution or a cause, not a person's health.
NOT_PERSONAL_AFTER = (
    r"(?:center|centre|institute|society|foundation|program|awareness|research|month|day|walk|run|fund|hospital|"
    r"clinic|services?|network|alliance|team|unit|ward|support|group|coalition|council|summit|conference|guide|"
    r"resources?|navigat\w*)"
)

# A clinical context in a sentence (for honorifics like "Mr. Jones" and for ages).
CLINICAL_WORDS = r"""
(?:patients?|diagnos\w*|chemo\w*|radiation|oncolog\w*|cancer|leukemia|lymphoma|myeloma|melanoma|sarcoma|tumou?rs?|
   surgery|surgical|biopsy|mastectomy|transplant|remission|relapse\w*|hospice|hospital\w*|admitted|discharged|icu|
   treated|treatment|infusion|prognosis|terminal|metasta\w*|survivor\w*|stage\s+(?:[0-4]|i{1,3}v?|iv)|
   palliative|illness|sick|ill|died|passed\s+away)
"""

# First-person health words that make a sentence read like a testimonial.
HEALTH_WORDS = r"""
(?:diagnos\w*|chemo\w*|radiation|cancer|leukemia|lymphoma|myeloma|melanoma|sarcoma|tumou?rs?|surgery|biopsy|
   mastectomy|lumpectomy|transplant|remission|relapse\w*|oncologist|hematologist|scan|scans|side\s+effects|
   treatment|infusion|survivor|cured|cancer[- ]free|stage\s+\w+|mpn|myelofibrosis|prognosis|hospice|
   symptoms?|my\s+doctor|my\s+care\s+team)
"""

# Link shorteners hide where a link goes.
SHORTENERS = _words(
    """
    bit.ly bitly.com tinyurl.com t.ly ow.ly buff.ly goo.gl is.gd v.gd cutt.ly rebrand.ly shorturl.at tiny.cc
    rb.gy s.id bl.ink short.io lnkd.in fb.me tr.im snip.ly shor.by rb.gy qrco.de t2m.io soo.gd urlz.fr
    """
)

# Links that open a chat with a person's own account: contact details, like a phone number.
MESSAGING_HOSTS = _words("wa.me api.whatsapp.com chat.whatsapp.com signal.me t.me telegram.me m.me line.me")

# Medical claims: the built-in phrases (regular expressions, matched as whole words, any case).
CLAIM_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"cur(?:e|es|ed|ing)", "cure"),
    (r"guarantee[sd]?|guaranteeing", "guaranteed"),
    (r"miracle|miraculous(?:ly)?", "miracle"),
    (r"100\s*%\s+(?:effective|success(?:ful)?|safe|cure|natural|guaranteed|results?)", "100% claim"),
    (r"risk[- ]free|no\s+risks?|zero\s+risks?", "risk-free"),
    (r"(?:no|without|zero)\s+side[- ]effects|side[- ]effect[- ]free", "no side effects"),
    (
        r"(?:clinically\s+)?proven\s+to\s+(?:cure|treat|prevent|reverse|heal|eliminate|stop|shrink|kill|work)",
        "proven to",
    ),
    (
        r"(?:reverses?|eliminates?|eradicates?|destroys?|kills?|melts?\s+away|dissolves?)\s+(?:your\s+|all\s+)?(?:cancer|tumou?rs?|disease)",
        "reverses disease",
    ),
    (r"(?:instant|permanent|immediate)\s+(?:relief|results|cure)", "instant or permanent results"),
    (r"detox(?:es|ing|ify)?|cleanses?\s+(?:your\s+)?(?:body|blood|cells)", "detox"),
    (r"(?:alternative|natural)\s+(?:to\s+)?(?:chemo\w*|cure|cancer\s+treatment)", "alternative to treatment"),
    (r"(?:no|never)\s+need\s+(?:for\s+)?(?:chemo\w*|surgery|radiation)", "no need for treatment"),
    (
        r"works?\s+for\s+everyone|(?:best|only)\s+(?:cancer\s+)?(?:cure|treatment)\s+(?:in|on|available)",
        "universal claim",
    ),
)
# "cure" as a cause, not a claim: "a cure", "find a cure", "Race for the Cure".
CURE_AS_CAUSE = (
    r"(?:for|toward|towards|find|finding|found|search(?:ing)?\s+for|hope\s+for|race\s+for|walk\s+for|ride\s+for|"
    r"road\s+to|path\s+to|closer\s+to|fund(?:ing|s)?|research)\s+(?:a\s+|the\s+)?$"
)
