"""Write the bundled synthetic sample (``sample.jsonl``) and its answer key (``expected.jsonl``).

``socmon up`` replays ``sample.jsonl`` when no platform credentials are configured, so a new user
sees the whole pipeline work at once; tests and demos compare what the pipeline decides with
``expected.jsonl``. Everything here is made up from the phrase tables below for the fictional
Northbrook Hospitals NHS Foundation Trust (no real dataset, no network). The output is
deterministic: one ``random.Random(2026)`` and nothing else, so running this again gives the
same bytes (a test checks that). Regenerate with::

    python -m socmon.sample.generate            # rewrites the bundled files
    python -m socmon.sample.generate --out /tmp/sample.jsonl   # expected.jsonl goes beside it

What the sample holds (30 days ending 2026-10-31T18:00:00Z, roughly in time order but not
strictly sorted, as connectors deliver it):

- mentions of the Trust by the public (kind ``mention``): compliments, concerns and neutral
  questions or chatter (about 35/35/30 %), at least 6 for each of the 15 departments of the
  default config, a few in Welsh, Polish and Urdu, and a handful of urgent ones (self-harm,
  safeguarding of a child and of a vulnerable adult, a threat against staff, patient records
  found in a car park, a missing confused patient);
- replies to official posts (kind ``reply``): 15 abusive ones (insults, trolling, harassment of
  staff; no slurs) and a few ordinary ones;
- comments on the Facebook posts of NorthbrookHospitals (kind ``comment``);
- official posts (kind ``official_post``) by the three registered accounts: NorthbrookNHS
  (twitter) and NorthbrookHospitals (facebook) post at least every 4 days over the whole window;
  NorthbrookMaternity (twitter) posts in the first 10 days only and then goes quiet. 14 of the
  official posts breach the social media policy, one for each rule id in `BREACH_RULES`.
  NHS numbers are in the 999 range that is never issued to patients, and pass the modulus-11
  check; phone numbers are Ofcom drama numbers (07700 900xxx, 0113 496 0xxx); the e-mail
  address uses example.com and the postcode area NB does not exist.

Malformed lines, at fixed 1-based line numbers (`MALFORMED_LINES`), for the dead-letter path:

- line 17: not JSON (a truncated object);
- line 88: no ``text``;
- line 150: no ``created_at``;
- line 233: unknown ``kind`` (``retweet``);
- line 301: ``created_at`` is not a date (``last Tuesday, 14:05``).

``expected.jsonl`` has one object per valid line, in file order: ``key`` (``platform:id``),
``line``, ``category`` (`CATEGORIES`), ``sentiment``, ``departments``, ``urgent``, ``abusive``,
``breaches`` (rule ids) and ``lang``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SEED = 2026
WINDOW_END = datetime(2026, 10, 31, 18, 0, tzinfo=UTC)
WINDOW_START = WINDOW_END - timedelta(days=30)
BST_ENDS = datetime(2026, 10, 25, 1, 0, tzinfo=UTC)  # UK clocks go back: 02:00 BST on 25 Oct

NHS = "NorthbrookNHS"
HOSPITALS = "NorthbrookHospitals"
MATERNITY = "NorthbrookMaternity"
OFFICIAL_PLATFORM = {NHS: "twitter", HOSPITALS: "facebook", MATERNITY: "twitter"}
FACEBOOK_PAGE_ID = "100064582913377"
MATERNITY_ACTIVE_DAYS = 9.0  # NorthbrookMaternity posts only in these first days of the window

MALFORMED_LINES: dict[int, str] = {
    17: "not JSON (truncated object)",
    88: "missing text",
    150: "missing created_at",
    233: "unknown kind",
    301: "created_at is not a date",
}

BREACH_RULES: tuple[str, ...] = (
    "personal_data",
    "nhs_number",
    "phone_number",
    "email_address",
    "postal_address",
    "date_of_birth",
    "patient_identifiable",
    "confidential",
    "offensive",
    "criticising_service_users",
    "political",
    "commercial",
    "media_consent",
    "credentials",
)
CATEGORIES: tuple[str, ...] = (
    "mention",
    "urgent_mention",
    "comment",
    "reply",
    "abusive_reply",
    "official_post",
    "official_breach",
)
TEXT_LIMITS = {"twitter": 280, "bluesky": 300, "mastodon": 500, "instagram": 2200}
MARKS = {"+": "compliment", "-": "concern", "?": "neutral"}

# --------------------------------------------------------------------------------------------
# Phrase tables. Mentions and comments are written one per entry, starting with a mark:
#   + compliment   - concern   ? neutral
# Indented lines continue the entry. "=> dept ..." at the end adds departments besides the
# table's own; "[photo]" at the end attaches a photo. Slots: {site} {ward} {name} {hours}.
# --------------------------------------------------------------------------------------------

SLOTS: dict[str, tuple[str, ...]] = {
    "site": ("Northbrook General", "St Aldhelm's", "Kingsmead", "the General"),
    "ward": ("Ward 7", "Ward 12", "Ward 5", "Bramble Ward", "Larch Ward", "Ward 9"),
    "name": ("Sam", "Bernie", "Joy", "Kasia", "Lorraine", "Rhian", "Dee", "Anita"),
    "hours": ("6", "7", "8", "9", "11"),
}

MENTIONS: dict[str, str] = {
    "emergency": """
+ Took my dad into A&E at {site} last night with chest pains (turned out fine). From triage to
  getting home the staff were calm, kind and so patient with him. Thank you
+ shoutout to the minor injuries nurses at Kingsmead, in and out in 40 mins with a glued head 🤕
  my own fault for headbutting a cupboard
+ The ED team at {site} were incredible with my nan on Saturday night. Rammed waiting room and
  they still treated her like she was the only patient
+ Whoever the triage nurse {name} is in A&E tonight, she deserves a medal. Calmed my panicking
  teenager right down
+ I've moaned about casualty before so fair's fair: 2 hours start to finish today and everyone
  was lovely
- {hours} hours in A&E at {site} with a broken wrist. No water, no updates, one toilet for the
  whole waiting room. Not the staff's fault but something has to change
- Sat in the emergency department corridor on a trolley overnight with my 84yr old mum. Nobody
  checked on her for 5 hours. Disgraceful.
- why does triage take 3 hours?? my partner was in agony and we were told 'you're not a priority'
- A&E waiting room at {site} is grim tonight, people being sick on the floor and kids crying.
  Nobody cleaning it up
- Was sent home from A and E with 'a sprain' - went back 3 days later and its broken. Not
  impressed
? Anyone know what the wait is like at Northbrook A&E right now? Thinking of taking my lad in, cut
  his hand on a tin
? Is the minor injuries unit at Kingsmead open on Sundays?
? Do you need to bring anything with you to A&E? first time going and dont want to be there all
  night without a charger lol
? Is there a live waiting times page for the emergency department? Would help loads
""",
    "maternity": """
+ Our little girl was born on the delivery suite at {site} on Tuesday and the midwives were just
  amazing. Special thanks to {name} who stayed past the end of her shift 💕
+ Can't thank the antenatal team enough for everything during a really difficult pregnancy. You
  made me feel heard
+ Second baby, second birth at Northbrook and the care was just as brilliant as the first time.
  Thank you labour ward!
+ The postnatal ward staff helped me get feeding sorted at 3am when I was in bits. Forever
  grateful
+ Big thank you to the community midwives who came out to us in the pouring rain, brilliant all
  the way through
- Left alone on the labour ward for 2 hours in active labour because they were short staffed.
  Frightening. I know midwives are stretched but this isn't safe
- My partner was sent home from maternity triage twice before they admitted her. Third time she
  was 8cm. Please listen to women
- postnatal ward at {site} was filthy, blood on the bathroom floor and no one came when I pressed
  the buzzer [photo]
- Why are partners still sent home at 9pm from the postnatal ward? First night with a newborn on
  my own after a c-section was awful
- Antenatal appointment cancelled for the third time. 34 weeks pregnant and haven't seen a
  midwife in 6 weeks => outpatients
? Can dads stay overnight on the maternity unit at {site} now? Due in December
? Does anyone know if there's a birthing pool at Northbrook General or just St Aldhelm's?
? what do you need in your hospital bag for the labour ward? first baby and panicking a bit 😅
? Are the antenatal classes free or do you pay? can't find it on the website
""",
    "childrens": """
+ The play specialists on the children's ward made my daughter's stay so much less scary. She
  wants to go back to see the fish tank 🐠
+ NICU nurses are angels in disguise. 9 weeks in and our boy is finally coming home tomorrow
+ thank you to the paediatric doctors who spotted my son's appendix when the GP said it was a bug
+ Massive thank you to the kids ward at {site} for looking after our little man this week. Every
  single person was kind
+ The neonatal unit gave us memory boxes and photos when we lost our twin. That kindness I will
  never forget 💙
- my daughter has been waiting 14 months for a paediatric autism assessment. 14 months. she's 6
- No beds for parents on the children's ward, I slept on the floor next to my child for 3 nights
- My son was sent home from the children's ward with the wrong dose of antibiotics written down.
  Pharmacy caught it thankfully but that's scary => pharmacy
- The NICU parking charges are cruel. £12 a day to sit with your premature baby => estates
- paediatrics sent us home at midnight with a 2 year old still struggling to breathe. back in 6
  hours later in an ambulance
? Are siblings allowed to visit on the children's ward? My daughter is desperate to see her
  brother
? Does the kids ward have wifi? 10 days in and the tablet data is gone lol
? Anyone know how to get a referral to paediatrics at {site}? GP keeps fobbing us off
  => outpatients
? What are the visiting times for parents on NICU?
""",
    "cardiology": """
+ Had my pacemaker fitted at {site} on Thursday. Cardiology team were first class, explained
  everything twice because I'm a worrier
+ Dad had a heart attack on Monday, stented by Tuesday afternoon. The cardiac team are
  unbelievable. Thank you doesn't cover it
+ Shout out to the chest pain clinic: seen, ECG done and reassured in one morning
+ The cardiac rehab group at Kingsmead has given my husband his confidence back. Lovely staff
+ Angiogram yesterday, home by teatime. Proper slick service from cardiology
- Waiting 11 months for a cardiology follow up after being told it was 'urgent'. What does urgent
  mean at Northbrook?
- my mum's ECG results went missing and nobody in cardiology can tell us where they are
- Heart failure nurse line just rings out. For a week.
- Dad's cardiac op cancelled on the morning, 3rd time. He's 79 and every time he has to build
  himself up for it => surgery
- sent home after chest pains with no ECG. next day in resus with a heart attack. someone needs
  to look at this => emergency
? How long does a 24 hour heart monitor take to get results back from cardiology?
? Does anyone know if the cardiology clinic at St Aldhelm's has moved? letter says block C
  => outpatients
? Can I drive home after an angiogram or do I need someone to collect me?
? Is there a support group for people with a pacemaker in the Northbrook area?
""",
    "cancer": """
+ Finished my last round of chemo today at the Northbrook cancer centre 🔔 Rang that bell so hard.
  Thank you to every nurse on the unit [photo]
+ The Macmillan nurses at {site} held my hand through the worst year of my life. Heroes
+ Radiotherapy team, you made 25 sessions almost fun with your terrible jokes. Thank you x
+ My biopsy results came back in 6 days and the oncology consultant rang me himself. Really
  impressed
+ Proud to have run the Northbrook 10k for the oncology unit that saved my sister's life ❤️
- Waited 9 weeks for biopsy results. 9 weeks of not sleeping. That's not OK for a suspected
  cancer
- Chemo suite ran 4 hours late today and nobody explained why. Patients sitting there feeling
  awful
- my dad's cancer referral was lost. LOST. we found out after 7 weeks when we chased it
  => outpatients
- No free parking for radiotherapy patients who have to come in every day for 5 weeks?? £8 a day
  adds up => estates
- Told about my tumour in a corridor with people walking past. Please, there has to be a better
  way
? Is the Macmillan info centre at Northbrook General open on Saturdays?
? Does anyone know if you can bring someone with you to chemo at the moment?
? Can you get free parking for radiotherapy? Been told different things by different people
  => estates
? How do I volunteer with the oncology unit? Want to give something back
""",
    "outpatients": """
+ Outpatients at Kingsmead is so much better than the main site. In on time, out in 20 mins. More
  of this please
+ Love that I can now rebook appointments online. Took 2 minutes
+ The dermatology clinic nurse {name} was so thorough and kind. Made me feel like an actual person
+ Fair play, letter said 10:40 and I was called at 10:38 👏 outpatients running like clockwork
  today
+ Really helpful call from the booking team today sorting out my mum's appointments. Thank you
- Cancelled my appointment by text the night before. 4th time. I took a day off work for this
- 18 months on the waiting list for a knee referral and nobody will tell me where I am in the
  queue
- Clinic running 2.5 hours late and the only info was a handwritten sign. Some of us have jobs
  and kids
- Got a letter for an appointment that was yesterday. Arrived in the post today. Classic
- How is it that the clinic letter says one site and the system says another? Drove to the wrong
  hospital and missed it
? How do I change an outpatient appointment if I can't get through on the phone? => switchboard
? Does the ENT clinic at St Aldhelm's run evening appointments?
? If I've moved house do I need to tell the hospital or just my GP for my referral letters?
? what's the difference between a referral and a booking? got two letters and confused
""",
    "pharmacy": """
+ Pharmacy at {site} went out of their way to find my lad's epilepsy medication when every
  chemist in town had run out. Thank you!!
+ The pharmacist sat down and went through all 11 of my dad's tablets with us. Should be standard!
+ Discharge prescription ready in 30 mins today, must be a record 😂 thanks pharmacy
+ Huge thanks to the dispensary team for the reminder calls about my repeat prescription
+ the pharmacy staff are honestly the unsung heroes of that hospital
- Waited 5 hours for discharge medication from pharmacy while a bed sat waiting for someone else.
  Whole system is broken => wards
- Given the wrong tablets at the outpatient pharmacy. Caught it myself at home. Could have been
  serious
- Why is there only one person on the pharmacy counter at 5pm when the queue is out the door?
- Three visits and my prescription still isn't ready. It's insulin, not sweets
- Pharmacy closed at 5:30 and my discharge was at 5:45, with no medication. Now what? => wards
? Is the hospital pharmacy open to the public or only for hospital prescriptions?
? Can I collect my mum's medication from the pharmacy or does she need to come in?
? What are the pharmacy opening hours at St Aldhelm's on bank holidays?
? do you have to pay for prescriptions from the hospital pharmacy in England?
""",
    "radiology": """
+ MRI staff at {site} were so patient with me, I'm really claustrophobic and they talked me
  through every minute
+ X-ray at Kingsmead: walked in, 15 mins, done. Brilliant
+ The sonographer who did our 20 week pregnancy scan was lovely and took time to show us
  everything 🥹 => maternity
+ Mammogram today and the radiographer was so gentle and reassuring. Ladies, go to your
  screening!
+ CT scan booked, done and reported within a week. Whatever radiology is doing, keep it up
- Been waiting 14 weeks for an MRI that was supposed to be 'urgent'. Pain getting worse
- Ultrasound appointment cancelled by text an hour before. Had taken the morning off and drunk
  the litre of water 🙃 => outpatients
- x-ray department at {site} was freezing, sat in a gown for 40 minutes
- Nobody tells you your scan results. 6 weeks and counting. The GP hasn't had them either
- CT scan machine broken so they sent us home after 3 hours sitting there
? Do I need an appointment for an x-ray if my GP has sent me or is it walk in? => outpatients
? How long does it take for MRI results to get back to the consultant usually?
? Can I bring someone into the room for my ultrasound?
? Is the imaging department at Northbrook General in the new block or the old one?
""",
    "surgery": """
+ Had keyhole surgery on Friday and was home by 6. The day surgery team were brilliant
+ Thank you to Mr Adeyemi and his team for my hip operation. Walking without pain for the first
  time in 3 years
+ The anaesthetist was so reassuring, I was terrified and she made me laugh right up until I went
  under
+ Theatre staff at {site} treated my mum with real dignity. She has dementia and they let me stay
  with her until she was asleep
+ gallbladder out, home same day, barely a scar. day surgery unit you are stars ⭐
- Op cancelled on the day for the third time. Nil by mouth since midnight for nothing
- 2 years on the waiting list for surgery on my shoulder. Can't work, can't sleep => outpatients
- Left in a gown in the surgery waiting area for 6 hours without being told anything, then told
  there's no theatre slot
- Nobody told my family I was out of theatre. My husband rang for 4 hours
- Post op pain relief on the surgical ward was awful. Had to beg for painkillers at 2am => wards
? How long after keyhole surgery can you drive?
? Does anyone know if Northbrook does the robotic knee operation or do you have to go to Leeds?
? What time should I arrive for day surgery if my letter says morning list?
? can you wear nail varnish for an operation? letter doesnt say
""",
    "wards": """
+ The nurses on {ward} looked after my grandad like he was their own in his last days. Thank you
  from all of us ❤️
+ Ward 7 staff are angels. Always smiling even when run off their feet
+ Huge thanks to the healthcare assistants on {ward} who washed and shaved my dad every morning.
  It's the little things
+ Discharge was smooth and organised today, everything explained properly. Great job {ward}
+ I've been an inpatient on Ward 12 for 3 weeks and the nursing care has been outstanding from
  day one
- Mum was left in a wet bed for hours on {ward}. She's 91. I'm heartbroken and furious
- Visiting hours are 2pm-7pm but nobody told us and we were sent away after a 90 minute drive
- My dad's discharge was at 11pm, in his pyjamas, in a taxi. He has dementia. How is that
  acceptable?
- call bells on {ward} ringing for 20 minutes at a time. not enough nurses, it's not safe
- Dad has been on {ward} 4 days and still no one can tell us the plan. Doctors never around at
  visiting hours
? Can you bring flowers onto the wards at Northbrook General?
? What are the visiting hours on Ward 12 at the moment?
? Is there a way to phone the ward to check on a relative without going through switchboard?
  => switchboard
? Is there inpatient wifi or do I need to bring a dongle for my mum?
""",
    "mental_health": """
+ The crisis team got me through the worst night of my life last week. I'm still here. Thank you
+ CAMHS finally came through for my daughter and her worker is amazing. Worth the fight
  => childrens
+ liaison psychiatry in A&E were the first people who listened to me properly in years
  => emergency
+ The anxiety group at Kingsmead has been a lifeline. Lovely, non-judgemental staff
+ Honest shout out to the mental health nurses on Heron Ward. Patient, kind, never rushed me
- Waited 19 hours in A&E for a mental health bed. A teenager. In a corridor. => emergency
- CAMHS waiting list is 2 years. My son is struggling NOW. What are we supposed to do?
  => childrens outpatients
- Rang the crisis team line 6 times last night. No answer
- Discharged from psychiatric care with a leaflet and nothing else. Is that it?
- Depression referral bounced back by the mental health team AGAIN because I'm 'not unwell
  enough' => outpatients
? How do I self refer to talking therapies? Dealing with a lot of anxiety lately
? Does the crisis team cover Kingsmead or just Northbrook town?
? Is there a mental health liaison team in A&E overnight? => emergency
? Any peer support groups for carers of people with psychiatric illness round here?
""",
    "transport": """
+ The patient transport drivers are so lovely to my mum, she actually looks forward to her
  dialysis trips now
+ Shuttle bus between Kingsmead and the General is a godsend. Thank you to the drivers!
+ Ambulance crew who brought my grandma in were gentle and funny. Made a scary day easier
+ Thank you to the transport team who waited an extra 20 mins when my dad's clinic ran late
+ the volunteer drivers for patient transport deserve a medal, 40 miles each way for my nan
- Patient transport didn't turn up. Again. Mum missed her chemo => cancer
- Waited 5 hours for transport home after discharge. My 87 year old dad sat in a chair in the
  discharge lounge all day => wards
- Why does the shuttle bus stop at 5pm when clinics run until 8?
- Pickup was booked for 10am, arrived 2:30pm. No call, nothing
- the ambulance took 3 hours to come for my neighbour who'd fallen. not your fault but someone
  has to say it
? How do I book patient transport for an outpatient appointment? => outpatients
? Does the shuttle bus go from the train station or just between the hospital sites?
? Am I eligible for patient transport if I don't drive but can walk?
? what time is the first shuttle bus in the morning from St Aldhelm's?
""",
    "estates": """
+ Credit where due, the new car park at Northbrook General is so much easier. Plenty of spaces
  this morning
+ Toilets in outpatients were spotless today. Thank you to the cleaners, you never get thanked
+ The new signage at St Aldhelm's means I didn't get lost for once 😂
+ Whoever fixed the lifts in the main block, thank you. My mum can get to her clinic again
+ Free parking for blue badge holders is a really good move, thank you
- £4.50 for an hour in the car park while my girl has her bloods done. Parking charges are a tax
  on the sick
- Lift in the main building broken AGAIN. Had to carry my dad's wheelchair up two flights
- The toilets near the main entrance are disgusting. No soap, no paper, floor soaking [photo]
- Heating broken on {ward} and my mum is under 3 blankets. It's October! => wards
- Car park barrier broken and a queue back onto the main road for 40 mins [photo]
? Is parking free after 8pm at the General?
? Where are the nearest toilets to x-ray? Asking for a nervous person
? Can you pay for parking by card or app yet at Kingsmead?
? Is there EV charging in the car park at any of the hospital sites?
""",
    "catering": """
+ Hospital food gets a bad rap but the roast dinner on {ward} today was actually lovely 😋 [photo]
+ The tea lady on Ward 12 is the best thing about that hospital. Knows everyone's order by day 2
+ Café at Kingsmead does the best bacon sandwich in Northbrook, I will not be taking questions
+ Kitchen staff made a gluten free birthday cake for my mum's breakfast. Thank you so much!
+ the halal meals on the children's ward were really good, my son actually ate! => childrens
- Dad was given a meal he can't eat (he's diabetic) three days in a row. It's on his notes!!
- Canteen closes at 7pm. Night shift staff and visitors have nothing but a vending machine
- Lunch left on the table out of reach of my mum who can't feed herself. Taken away untouched
- £6.20 for a cold sandwich in the cafe? Sort it out
- no vegan food at all on the ward menu. literally lived on toast for 4 days
? Is the canteen at the General open to visitors or just staff?
? Does the hospital café take card payments only now?
? Can I bring food in for my dad or do they not allow it on the wards?
? What time is breakfast served on the wards? mum's asking
""",
    "switchboard": """
+ Switchboard operator today was so kind when I rang in a panic looking for my brother. Thank you
+ Got through on the phone line in under a minute. Is this a record? 😂
+ The lady on the switchboard stayed on the line until the ward picked up. Above and beyond
+ Phoned to ask about my dad and the person on the switchboard was so patient with me
+ thank you to whoever answered the phone at 3am, you were the calm I needed
- On hold for 55 minutes to the switchboard and then cut off. Tried 3 times.
- Nobody answers the phone in the appointments office. Ever. I've been calling for two days
  => outpatients
- Phoned the hospital to check on my mum and was put through to 4 different departments, none of
  them hers
- The phone line just rings and rings. How are people supposed to cancel appointments?
  => outpatients
- Switchboard told me they 'couldn't find' my husband on the system. He'd been admitted 6 hours
  earlier
? What's the best phone number to get through to the wards directly? => wards
? Is the switchboard 24 hours?
? Is there a text phone service for deaf patients?
? calling from abroad, what's the international number for the hospital switchboard?
""",
}

COMMENTS = """
+ Brilliant news! 👏
+ Well done everyone, so proud of our local hospital
+ The staff on Ward 7 were amazing with my dad last month, thank you all ❤️ => wards
+ Best maternity care I've ever had, and I've had 4 kids 😂 => maternity
+ My daughter's consultant on the children's ward is a legend => childrens
+ Had my scan there last week, really quick and friendly => radiology
+ The café at St Aldhelm's does a lovely jacket potato btw => catering
+ Good to see! The new car park has made such a difference => estates
+ The cancer centre nurses are the kindest people I've ever met => cancer
+ Fantastic. The day surgery team were great with me in the summer => surgery
+ So glad this is happening, the crisis team helped my brother so much => mental_health
+ Thank you for sharing this, really useful
+ Happy to see this, my mum's pharmacy visit was so quick last week => pharmacy
- Would be nice if someone answered the phone though => switchboard
- Great, now fix the parking charges => estates
- Lovely, but my dad has waited 8 months for his cardiology appointment
  => cardiology outpatients
- How about sorting out A&E first? 7 hours on Sunday => emergency
- Meanwhile my mum's operation has been cancelled twice => surgery
- This is all well and good but the toilets on the ground floor are filthy => estates
- Still waiting for a reply to my complaint from August
- Shame the patient transport never turns up on time => transport
- Tell that to the people stuck on the waiting list => outpatients
- Nice words but the nurses on Ward 12 are on their knees. Pay them properly => wards
- My prescription took 4 hours at the pharmacy on Tuesday => pharmacy
- I was told my radiotherapy would start in 2 weeks, it's been 5 => cancer
- Why is the canteen shut at weekends for visitors? => catering
- Went to the antenatal clinic on Monday and it was cancelled with no notice
  => maternity outpatients
? Is this at the General or St Aldhelm's?
? What time does it start?
? Do you need to book or just turn up?
? Will there be parking nearby? => estates
? Is the shuttle bus running that day? => transport
? Can you apply if you're still training?
? Sharing for my sister who's looking for work x
? Is the Kingsmead minor injuries unit still open 8-8? => emergency
? Does this apply to the children's ward too? => childrens
? Is the MRI scanner at Kingsmead working again now? => radiology
? Where do I find the mental health drop-in? => mental_health
? Tagging Lauren Price, this is the job you were after
? Who do I speak to about booking a flu jab appointment? => outpatients
"""


@dataclass(frozen=True)
class Spec:
    """One post to compose: the words and what we intend it to be."""

    text: str
    sentiment: str
    departments: tuple[str, ...] = ()
    lang: str = "en"
    urgent: bool = False
    abusive: bool = False
    photo: bool = False
    platform: str | None = None
    account: str | None = None
    earliest_day: float = 0.0  # days after WINDOW_START
    latest_day: float = 30.0


# Mentions that do not fit the per-department tables: other languages, no department at all,
# the quiet maternity account being chased, and the urgent ones.
SPECIAL_MENTIONS: tuple[Spec, ...] = (
    Spec(
        "Diolch o galon i'r bydwragedd ar y ward famolaeth yn Ysbyty Northbrook. Gofal arbennig i "
        "fi a'r babi 💕 #maternity",
        "compliment",
        ("maternity",),
        lang="cy",
    ),
    Spec(
        "Oes modd cael apwyntiad yn Gymraeg? Dwi wedi cael llythyr am appointment yn y clinic ond "
        "does dim sôn am siaradwr Cymraeg",
        "neutral",
        ("outpatients",),
        lang="cy",
    ),
    Spec(
        "Czekałam 7 godzin na A&E z synkiem z wysoką gorączką. Nikt nic nie powiedział. Bardzo "
        "słaba obsługa 😡",
        "concern",
        ("emergency",),
        lang="pl",
    ),
    Spec(
        "Dziękuję bardzo pielęgniarkom z Ward 7 za opiekę nad moją mamą ❤️ Jesteście wspaniałe",
        "compliment",
        ("wards",),
        lang="pl",
    ),
    Spec(
        "Czy szpitalna apteka (pharmacy) w Northbrook General jest otwarta w niedzielę?",
        "neutral",
        ("pharmacy",),
        lang="pl",
    ),
    Spec(
        "میری والدہ کی appointment تیسری بار منسوخ کر دی گئی ہے۔ فون پر بھی کوئی جواب نہیں دیتا",
        "concern",
        ("outpatients",),
        lang="ur",
    ),
    Spec(
        "نارتھ بروک ہسپتال کی cardiology ٹیم کا بہت شکریہ، ابو کا pacemaker کامیابی سے لگ گیا 🤲",
        "compliment",
        ("cardiology",),
        lang="ur",
    ),
    Spec(
        "Whatever people say about the NHS, every time my family has needed Northbrook they've "
        "been there. Grateful.",
        "compliment",
    ),
    Spec(
        "Shout out to all the staff working this weekend while the rest of us watch the football",
        "compliment",
    ),
    Spec("The porters at the General are the friendliest people in the place", "compliment"),
    Spec(
        "Trust just announced more 'efficiency savings'. Translation: fewer staff, longer waits. "
        "Great.",
        "concern",
    ),
    Spec(
        "Complained 8 weeks ago and still no reply from Patient Services. Does anyone actually "
        "read these?",
        "concern",
    ),
    Spec(
        "Started my first job at Northbrook General today as an HCA. Nervous but excited! 💙",
        "neutral",
    ),
    Spec("Do you have a volunteers programme? I've got a few free days a week", "neutral"),
    Spec("Northbrook Hospitals trending locally, what's happened?", "neutral"),
    Spec("Anyone know if the hospital radio is still going? Used to love it as a kid", "neutral"),
    Spec(
        "is the main entrance at the General open yet after the works or is it still round the "
        "back",
        "neutral",
    ),
    Spec(
        "is anyone still running this account? Asked about antenatal classes 2 weeks ago and "
        "heard nothing",
        "concern",
        ("maternity",),
        platform="twitter",
        account=MATERNITY,
        earliest_day=24.0,
    ),
    Spec(
        "Tried to message about when the birth centre reopens, no reply for ages. Who should I "
        "ask?",
        "neutral",
        ("maternity",),
        platform="twitter",
        account=MATERNITY,
        earliest_day=20.0,
    ),
    # Urgent: someone must act today, whatever the sentiment tally says.
    Spec(
        "discharged by the crisis team again. honestly can't see the point anymore. won't be "
        "around to bother anyone for much longer",
        "concern",
        ("mental_health",),
        urgent=True,
        platform="twitter",
        account=NHS,
    ),
    Spec(
        "Saw a little boy in the children's ward waiting area with bruises all up his arms and the "
        "man with him grabbing him really hard. Staff didn't seem to notice. Who do I tell?",
        "concern",
        ("childrens",),
        urgent=True,
    ),
    Spec(
        "if that doctor in A&E talks to my mum like that again I'll be waiting for him in the car "
        "park after his shift. you've been warned",
        "concern",
        ("emergency",),
        urgent=True,
        abusive=True,
        platform="twitter",
        account=NHS,
    ),
    Spec(
        "I found patient records in the car park at Northbrook General, a whole bundle of letters "
        "with names and NHS numbers blowing about by the pay machines. Who do I hand these to??",
        "concern",
        ("estates",),
        urgent=True,
    ),
    Spec(
        "Staff member on Ward 12 told my dad to stop complaining or he 'won't get his tablets'. "
        "He's 87 and frightened to ask for anything now. Is this a safeguarding issue?",
        "concern",
        ("wards",),
        urgent=True,
    ),
    Spec(
        "Elderly man in a hospital gown wandering along the main road outside Kingsmead, looked "
        "really confused. Is one of your wards missing someone?? Called 999 too",
        "concern",
        ("wards",),
        urgent=True,
        platform="twitter",
        account=NHS,
    ),
)


@dataclass(frozen=True)
class Official:
    """A post by an official account; ``day`` pins it to a date in October 2026."""

    account: str
    text: str
    departments: tuple[str, ...] = ()
    breaches: tuple[str, ...] = ()
    photo: bool = False
    day: int | None = None


OFFICIAL_POSTS: tuple[Official, ...] = (
    # NorthbrookNHS (twitter): routine.
    Official(
        NHS,
        "It's #Stoptober! Quitting smoking is one of the best things you can do for your health. "
        "Our stop smoking advisers can help: ask at any of our receptions.",
        day=2,
    ),
    Official(
        NHS,
        "#WorldMentalHealthDay: if you're struggling, you're not alone. Our crisis team can be "
        "reached 24/7 through NHS 111 (choose the mental health option).",
        ("mental_health",),
        day=10,
    ),
    Official(
        NHS,
        "Our pharmacy at Northbrook General moves to the ground floor, next to the main entrance, "
        "from Monday 19 October. Opening times stay the same.",
        ("pharmacy",),
        day=16,
    ),
    Official(
        NHS,
        "Clocks go back this weekend 🕐 The minor injuries unit at Kingsmead is open 8am to 8pm "
        "every day, including Sunday.",
        ("emergency",),
        day=23,
    ),
    Official(
        NHS,
        "Happy Halloween from Northbrook! 🎃 The café at the General is serving pumpkin soup all "
        "weekend (no tricks, just treats).",
        ("catering",),
        day=30,
    ),
    Official(
        NHS,
        "We're recruiting nurses! Come to our open day at Northbrook General on Saturday 10 "
        "October, 10am to 2pm. Just bring your CV. #NHSJobs",
        day=5,
    ),
    Official(
        NHS,
        "A&E is very busy today. Please use NHS 111 online or your local pharmacy for minor "
        "illnesses and keep A&E for emergencies. Thank you for your patience 💙",
        ("emergency",),
    ),
    Official(
        NHS,
        "Visiting hours on our wards change from 1 November: 11am to 8pm daily, two visitors per "
        "bed at a time. Children are welcome with an adult.",
        ("wards",),
    ),
    Official(
        NHS,
        "Well done to our radiology team, who have brought the wait for a routine MRI scan down to "
        "under 4 weeks 👏",
        ("radiology",),
        photo=True,
    ),
    Official(
        NHS,
        "Norovirus is circulating locally. If you've had diarrhoea or vomiting in the last 48 "
        "hours, please don't visit our wards until you're clear.",
        ("wards",),
    ),
    Official(
        NHS,
        "Missed appointments cost us over 1,200 clinic slots last month. If you can't make it, "
        "please tell us so we can offer it to someone else.",
        ("outpatients",),
    ),
    Official(
        NHS,
        "Welcome to Dr Amara Osei, who joins our cardiology team as a consultant from Leeds. We're "
        "delighted to have you, Dr Osei! 🎉",
        ("cardiology",),
    ),
    Official(
        NHS,
        "Our new multi-storey car park at Northbrook General opens on Monday with 400 extra "
        "spaces. Blue badge bays are on level 1.",
        ("estates",),
        photo=True,
    ),
    Official(
        NHS,
        "Thank you to everyone who ran the Northbrook 10k for our hospital charity: you raised "
        "£18,400 for the children's ward playroom! 🏃‍♀️",
        ("childrens",),
    ),
    Official(
        NHS,
        "Stay well this winter: keep warm, check on older neighbours, and order your repeat "
        "prescription in good time before the bank holiday.",
        ("pharmacy",),
    ),
    Official(
        NHS,
        "Flu and COVID-19 vaccines are available for eligible patients. Book through the NHS App "
        "or your GP practice. #FluJab",
    ),
    Official(
        NHS,
        "Our patient transport service has a new booking line for outpatients. Ask your clinic "
        "reception for details.",
        ("transport", "outpatients"),
    ),
    Official(
        NHS,
        "It's Breast Cancer Awareness Month. Know your normal, check regularly, and if you're "
        "invited for a mammogram please go. It could save your life.",
        ("cancer", "radiology"),
    ),
    # NorthbrookNHS (twitter): breaches of the policy.
    Official(
        NHS,
        "Lost property: a wallet belonging to a patient, NHS number {nhs_number}, was handed in at "
        "A&E last night. Please collect it from main reception at Northbrook General.",
        ("emergency",),
        ("nhs_number",),
    ),
    Official(
        NHS,
        "Questions about the new parking permits? Ring our estates manager Becky Lowe on her "
        "mobile {mobile} or at home on {landline} after 6pm.",
        ("estates",),
        ("phone_number",),
    ),
    Official(
        NHS,
        "This government has starved our NHS for years. Enough is enough: sign the petition to "
        "save Northbrook General and vote them out at the next election! #VoteThemOut",
        breaches=("political",),
    ),
    Official(
        NHS,
        "Sorry the switchboard is slow today. Most calls are from pensioners who can't manage a "
        "simple online form 🙄 Please use the website instead.",
        ("switchboard",),
        ("offensive",),
    ),
    Official(
        NHS,
        "Big news coming for radiology 🤫 The contract with MedServe Diagnostics to run our "
        "scanning service isn't announced yet, but staff will hear more next week!",
        ("radiology",),
        ("confidential",),
    ),
    # NorthbrookHospitals (facebook): routine.
    Official(
        HOSPITALS,
        "This Saturday (10 October) is our nursing and midwifery open day at Northbrook General, "
        "10am to 2pm in the main atrium. Come and meet the teams, find out about our bank and "
        "permanent roles and ask about training. No booking needed.",
        day=7,
    ),
    Official(
        HOSPITALS,
        "We've opened the new Larch Day Surgery Unit at St Aldhelm's Hospital. Eight new bays and "
        "two new theatres mean more patients can have their operation and go home the same day. "
        "Thank you to everyone who helped make it happen.",
        ("surgery",),
        photo=True,
    ),
    Official(
        HOSPITALS,
        "Our Kingsmead café is now open on Sundays from 9am to 3pm, serving hot food, sandwiches "
        "and cakes. Profits go back into patient care.",
        ("catering",),
    ),
    Official(
        HOSPITALS,
        "Car parking update: from 1 November parking will be pay-on-exit in all our car parks, and "
        "blue badge holders will continue to park free of charge. Concessions for frequent "
        "visitors are available from the main reception.",
        ("estates",),
    ),
    Official(
        HOSPITALS,
        "Patient Experience Week: we want to hear from you. Tell us about your care, good or bad, "
        "by filling in a short survey at any of our main receptions or online. Every comment is "
        "read by our Patient Services team.",
    ),
    Official(
        HOSPITALS,
        "A big thank you to our porters, who walk an average of 12 miles a shift moving patients "
        "and equipment around Northbrook General. You keep the hospital moving! 💙",
    ),
    Official(
        HOSPITALS,
        "Our Ward 12 refurbishment is complete: brighter bays, a new day room and a quiet room for "
        "families. Thank you to patients and visitors for your patience during the work.",
        ("wards",),
        photo=True,
    ),
    Official(
        HOSPITALS,
        "Volunteers wanted! We're looking for friendly people to guide visitors, run the library "
        "trolley and chat with patients on our wards. Even two hours a week makes a difference.",
        ("wards",),
    ),
    Official(
        HOSPITALS,
        "Our chaplaincy and spiritual care team is here for patients of all faiths and none, 24 "
        "hours a day. Ask any member of staff and they will contact us for you.",
    ),
    Official(
        HOSPITALS,
        "Our breast screening unit now offers evening mammogram appointments on Tuesdays and "
        "Thursdays until 8pm at St Aldhelm's. Ask for an evening slot when you book.",
        ("radiology",),
    ),
    Official(
        HOSPITALS,
        "Thank you to Northbrook Rotary Club, who have donated two new reclining chairs for "
        "parents staying with their children on the children's ward.",
        ("childrens",),
    ),
    Official(
        HOSPITALS,
        "Reminder: our Macmillan cancer information centre at Northbrook General is open Monday to "
        "Friday, 9am to 4pm. Just drop in for information and support.",
        ("cancer",),
    ),
    # NorthbrookHospitals (facebook): breaches of the policy.
    Official(
        HOSPITALS,
        "Found in our main car park: a purple handbag with a purse and keys. We've posted it back "
        "to the owner at 14 Larch Close, Northbrook NB3 7QT. Hope it arrives safely, Mrs Dawson!",
        ("estates",),
        ("postal_address",),
    ),
    Official(
        HOSPITALS,
        "Happy 100th birthday to Arthur Penfold (born 14/10/1926), who is recovering from "
        "pneumonia on Ward 7! The nurses made him a cake and the whole ward sang to him 🎂",
        ("wards",),
        ("date_of_birth", "patient_identifiable"),
        day=14,
    ),
    Official(
        HOSPITALS,
        "Interested in healthcare assistant bank shifts? Email our recruitment lead Dave Pritchard "
        "on his personal address, dave.pritchard77@example.com, and he'll get you booked in.",
        breaches=("email_address",),
    ),
    Official(
        HOSPITALS,
        "A bit of a plug from the team: our admin manager's husband has just opened Pritchard's "
        "Driving School in Northbrook and is offering 20% off lessons this month with code NHS20! "
        "🚗",
        breaches=("commercial",),
    ),
    Official(
        HOSPITALS,
        "Our youngest patients on the children's ward had a spooktacular Halloween party today "
        "🎃👻 Look at those costumes!",
        ("childrens",),
        ("media_consent",),
        photo=True,
        day=31,
    ),
    Official(
        HOSPITALS,
        "Reminder for Ward 12 staff: the new e-rostering login is ward12 / Autumn2026! and the "
        "staff wifi password is NBH-Staff-77. Please update your details by Friday.",
        ("wards",),
        ("credentials",),
    ),
    Official(
        HOSPITALS,
        "Welcome back to Staff Nurse Kelly Dunn, who returns to Ward 5 today after six months off "
        "with depression. We're so proud of you, Kelly! 💐",
        ("wards",),
        ("personal_data",),
    ),
    # NorthbrookMaternity (twitter): only in the first days, then the account goes quiet.
    Official(
        MATERNITY,
        "It's Baby Loss Awareness Week (9 to 15 October). Our bereavement midwives are here for "
        "every family who needs them 💗💙",
        ("maternity",),
        day=9,
    ),
    Official(
        MATERNITY,
        "Our free antenatal classes are back! Tuesday evenings at Northbrook General. Ask your "
        "midwife to book you on 🤰",
        ("maternity",),
    ),
    Official(
        MATERNITY,
        "Take a virtual tour of our labour ward and birth centre on our website before the big "
        "day 👶",
        ("maternity",),
    ),
    Official(
        MATERNITY,
        "Congratulations to the delivery suite team, shortlisted for Maternity Team of the Year at "
        "the regional NHS awards! 💜",
        ("maternity",),
    ),
    Official(
        MATERNITY,
        "Bleeding, feeling unwell or noticing fewer baby movements in pregnancy? Call maternity "
        "triage straight away, 24/7. Don't wait until the morning.",
        ("maternity",),
    ),
    Official(
        MATERNITY,
        "Congratulations to Chloe Barker, who welcomed baby Alfie at 3.12am after a 30-hour labour "
        "and an emergency c-section! Mum and baby doing well on the postnatal ward 💜",
        ("maternity",),
        ("patient_identifiable",),
    ),
    Official(
        MATERNITY,
        "To the dad who kicked off on our labour ward last night: our midwives deserve better than "
        "you. Grow up and learn some manners.",
        ("maternity",),
        ("criticising_service_users",),
    ),
)


@dataclass(frozen=True)
class Reply:
    """A reply to an official post on twitter; the handle is put in front by `build`."""

    account: str
    text: str
    sentiment: str
    abusive: bool = False
    departments: tuple[str, ...] = ()
    to: str | None = None  # a phrase of the official post it answers (default: any of them)


REPLIES: tuple[Reply, ...] = (
    Reply(NHS, "absolute clowns the lot of you. useless.", "concern", True),
    Reply(NHS, "who runs this account, a child? pathetic. get a real job", "concern", True),
    Reply(
        NHS,
        "recruiting? you'd have to be thick as mince to work for this shower of idiots 🤡",
        "concern",
        True,
        to="We're recruiting nurses",
    ),
    Reply(NHS, "lazy overpaid parasites. shut the place down", "concern", True),
    Reply(
        NHS,
        "nobody cares about your stupid fun run, you incompetent muppets. do your jobs",
        "concern",
        True,
        to="Northbrook 10k",
    ),
    Reply(
        NHS,
        "that receptionist at Kingsmead is a nasty stuck-up cow and everyone should know her name. "
        "I'll keep posting about her till she's gone",
        "concern",
        True,
    ),
    Reply(NHS, "🤡🤡🤡 clown show hospital, clown show trust, clown show staff", "concern", True),
    Reply(NHS, "go and do one you pack of liars", "concern", True),
    Reply(
        NHS,
        "every single one of your doctors is a useless quack. hope you all get sacked",
        "concern",
        True,
    ),
    Reply(NHS, "stop posting this rubbish you brainless idiots, nobody reads it", "concern", True),
    Reply(
        NHS,
        "imagine being this useless and still asking for a pay rise. scroungers",
        "concern",
        True,
    ),
    Reply(
        NHS,
        "you're all a bunch of thieving useless gits. £20 for parking??",
        "concern",
        True,
        ("estates",),
        to="multi-storey car park",
    ),
    Reply(NHS, "dear admin, you are a moron. regards, everyone", "concern", True),
    Reply(
        MATERNITY,
        "midwives my arse. a bunch of useless witches who couldn't organise a party in a brewery",
        "concern",
        True,
        ("maternity",),
        to="delivery suite team",
    ),
    Reply(
        MATERNITY,
        "shut up with your smiley posts you smug self-righteous lot. nobody likes you",
        "concern",
        True,
    ),
    Reply(NHS, "brilliant news, well done all 👏", "compliment", to="radiology team"),
    Reply(
        NHS,
        "will the new car park have EV chargers?",
        "neutral",
        departments=("estates",),
        to="multi-storey car park",
    ),
    Reply(NHS, "booked mine, thanks for the reminder", "neutral", to="Flu and COVID-19"),
    Reply(
        NHS,
        "great that you're recruiting but maybe pay the staff you've already got properly",
        "concern",
        to="We're recruiting nurses",
    ),
    Reply(
        NHS,
        "my nan's on Ward 7 and the nurses are fab, thank you",
        "compliment",
        False,
        ("wards",),
        to="Visiting hours",
    ),
    Reply(NHS, "does this apply to Kingsmead too?", "neutral", to="Norovirus"),
    Reply(
        MATERNITY,
        "went to these before my first, can recommend. the midwife running them was lovely",
        "compliment",
        False,
        ("maternity",),
        to="antenatal classes are back",
    ),
    Reply(
        MATERNITY,
        "are partners welcome at the antenatal classes?",
        "neutral",
        False,
        ("maternity",),
        to="antenatal classes are back",
    ),
)

# --------------------------------------------------------------------------------------------
# Little things that make a post look like a person wrote it.
# --------------------------------------------------------------------------------------------

TYPOS: tuple[tuple[str, str], ...] = (
    ("definitely", "definately"),
    ("because", "becuase"),
    ("really", "realy"),
    ("tomorrow", "tommorow"),
    ("brilliant", "brillant"),
    ("Thank you", "thankyou"),
    ("thank you", "thank u"),
    ("people", "ppl"),
    ("please", "pls"),
    ("you", "u"),
    ("your", "ur"),
    ("though", "tho"),
    ("amazing", "amazin"),
    ("disgusting", "disgustin"),
    ("don't", "dont"),
    ("I'm", "im"),
    ("it's", "its"),
    ("minutes", "mins"),
)
HASHTAGS = {
    "compliment": ("#NHS", "#ThankYouNHS", "#NHSheroes", "#grateful", "#Northbrook"),
    "concern": ("#NHS", "#NHScrisis", "#notgoodenough", "#Northbrook", "#waitingtimes"),
    "neutral": ("#Northbrook", "#NHS", "#help"),
}
EMOJI = {
    "compliment": ("❤️", "🙏", "💙", "👏", "😊", "🥰", "💐", "🙌"),
    "concern": ("😡", "😤", "🙄", "😢", "😠", "💔", "🤦‍♀️"),
    "neutral": ("🤔", "🙂", "😅", "🙏"),
}
LOCAL_HANDLES = ("NorthbrookEcho", "RadioNorthbrook", "NorthbrookWatch")
FIRST_NAMES = (
    "sarah", "dave", "kerry", "gaz", "lou", "jess", "mike", "priya", "tom", "becky", "ian",
    "shaz", "emma", "lee", "nat", "chris", "dawn", "kev", "aisha", "ollie", "jade", "paul",
    "megan", "wayne", "hannah", "dan", "bethan", "marek", "zainab", "gethin", "agnieszka",
    "imran", "lisa", "rob", "tash", "steve", "kirsty", "amir", "sian", "carl",
)  # fmt: skip
SURNAMES = (
    "smith", "jones", "walsh", "khan", "evans", "hughes", "nowak", "patel", "wright", "baker",
    "price", "morgan", "hussain", "kowalski", "turner", "lloyd", "hall", "ward", "begum", "fox",
)  # fmt: skip
MASTODON_HOSTS = ("mastodon.social", "toot.wales", "mas.to")


# --------------------------------------------------------------------------------------------
# Composition.
# --------------------------------------------------------------------------------------------


def nhs_number(rng: random.Random) -> str:
    """A 10-digit NHS number in the never-issued 999 range whose modulus-11 check digit is valid."""
    while True:
        digits = [9, 9, 9] + [rng.randrange(10) for _ in range(6)]
        check = 11 - sum(d * (10 - i) for i, d in enumerate(digits)) % 11
        if check == 10:
            continue  # no valid check digit: such numbers are never issued
        digits.append(0 if check == 11 else check)
        s = "".join(map(str, digits))
        return f"{s[:3]} {s[3:6]} {s[6:]}"


def nhs_number_is_valid(number: str) -> bool:
    """Check the modulus-11 check digit of an NHS number (spaces and dashes allowed)."""
    digits = [int(c) for c in number if c.isdigit()]
    if len(digits) != 10:
        return False
    check = 11 - sum(d * (10 - i) for i, d in enumerate(digits[:9])) % 11
    if check == 10:
        return False
    return digits[9] == (0 if check == 11 else check)


def parse_table(block: str, departments: tuple[str, ...] = ()) -> list[Spec]:
    """Read one phrase table (see the comment above `SLOTS`) into specs."""
    entries: list[str] = []
    for line in block.strip("\n").splitlines():
        if line[:1] in MARKS:
            entries.append(line)
        elif line.startswith("  ") and entries:
            entries[-1] += " " + line.strip()
        elif line.strip():
            msg = f"bad phrase table line: {line!r}"
            raise ValueError(msg)
    specs = []
    for entry in entries:
        mark, body = entry[0], entry[2:].strip()
        body, _, extra = body.partition(" => ")
        photo = body.endswith(" [photo]")
        body = body.removesuffix(" [photo]")
        specs.append(Spec(body, MARKS[mark], departments + tuple(extra.split()), photo=photo))
    return specs


def fill_slots(rng: random.Random, text: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: rng.choice(SLOTS[m.group(1)]), text)


def misspell(rng: random.Random, text: str) -> str:
    """Swap one or two words for a common misspelling or texting shorthand."""
    present = [(w, t) for w, t in TYPOS if re.search(rf"\b{re.escape(w)}\b", text)]
    for word, typo in rng.sample(present, min(len(present), rng.choice((1, 2)))):
        text = re.sub(rf"\b{re.escape(word)}\b", typo, text, count=1)
    return text


def compose(rng: random.Random, spec: Spec, platform: str, account: str) -> str:
    """Dress a phrase as a post: slots, typos, case, emoji, hashtags and the @handle."""
    text = fill_slots(rng, spec.text)
    if spec.lang == "en" and not spec.urgent:
        if rng.random() < 0.22:
            text = misspell(rng, text)
        if rng.random() < 0.3:
            text += " " + rng.choice(EMOJI[spec.sentiment])
        if rng.random() < 0.2:
            tags = rng.sample(HASHTAGS[spec.sentiment], rng.choice((1, 2)))
            text += " " + " ".join(tags)
        if spec.sentiment == "concern" and rng.random() < 0.1:
            text += f" cc @{rng.choice(LOCAL_HANDLES)}"
    if platform == "facebook":
        if rng.random() < 0.3:
            text = f"@{account} {text}"
    elif platform == "instagram":
        text = f"{text} @{account.lower()}"
    elif rng.random() < 0.6:
        text = f"@{account} {text}"
    else:
        text = f"{text} @{account}"
    if spec.lang == "en" and not spec.urgent and rng.random() < 0.15:
        text = text.lower()
    return text


@dataclass
class Item:
    """One line of the sample with its expectations."""

    platform: str
    post_id: str
    kind: str
    account: str
    author: str
    text: str
    created_at: datetime
    url: str | None
    photo: bool
    category: str
    sentiment: str
    departments: tuple[str, ...] = ()
    urgent: bool = False
    abusive: bool = False
    breaches: tuple[str, ...] = ()
    lang: str = "en"

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.post_id}"

    def line(self) -> dict[str, Any]:
        """The replay line: exactly the documented fields."""
        obj: dict[str, Any] = {
            "platform": self.platform,
            "id": self.post_id,
            "kind": self.kind,
            "account": self.account,
            "author": self.author,
            "text": self.text,
            "created_at": timestamp(self.created_at, self.platform),
        }
        if self.url is not None:
            obj["url"] = self.url
        if self.photo:
            obj["media"] = [{"type": "photo"}]
        return obj

    def expected(self, line_no: int) -> dict[str, Any]:
        return {
            "key": self.key,
            "line": line_no,
            "category": self.category,
            "sentiment": self.sentiment,
            "departments": list(self.departments),
            "urgent": self.urgent,
            "abusive": self.abusive,
            "breaches": list(self.breaches),
            "lang": self.lang,
        }


def timestamp(t: datetime, platform: str) -> str:
    """ISO 8601 the way each platform writes it (Facebook in UK local time with its offset)."""
    if platform == "facebook":
        offset = timedelta(hours=1) if t < BST_ENDS else timedelta(0)
        suffix = "+01:00" if offset else "+00:00"
        return (t + offset).replace(tzinfo=None).isoformat(timespec="seconds") + suffix
    if platform == "instagram":
        return t.replace(tzinfo=None).isoformat(timespec="seconds") + "+00:00"
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def uk_time(day: int, hour: int, minute: int, second: int = 0) -> datetime:
    """A UK wall-clock time on a day of October 2026, in UTC."""
    t = datetime(2026, 10, day, hour, minute, second, tzinfo=UTC)
    return t - timedelta(hours=1) if t < BST_ENDS + timedelta(hours=1) else t


class Ids:
    """Platform-shaped ids and urls, unique per platform."""

    B32 = "234567abcdefghijklmnopqrstuvwxyz"
    B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seen: dict[str, set[str]] = {}

    def _unique(self, platform: str, make: Callable[[], str]) -> str:
        seen = self.seen.setdefault(platform, set())
        while (value := make()) in seen:
            pass
        seen.add(value)
        return value

    def make(self, platform: str, t: datetime, parent: str | None = None) -> str:
        ms = (t - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
        rng = self.rng
        if platform == "twitter":  # a snowflake: milliseconds since the Twitter epoch << 22
            return self._unique(
                platform, lambda: str(((ms - 1288834974657) << 22) | rng.getrandbits(22))
            )
        if platform == "facebook":  # owner_object, or post_comment for a comment
            owner = parent or str(rng.randrange(10**14, 10**15))
            return self._unique(platform, lambda: f"{owner}_{rng.randrange(10**14, 10**15)}")
        if platform == "instagram":
            return self._unique(platform, lambda: str(rng.randrange(10**18, 10**19)))
        if platform == "bluesky":  # a TID: microseconds << 10 | clock id, base32-sortable

            def tid() -> str:
                n = ((ms * 1000 + rng.randrange(1000)) << 10) | rng.randrange(32)
                return "".join(self.B32[(n >> (5 * i)) & 31] for i in reversed(range(13)))

            return self._unique(platform, tid)
        return self._unique(platform, lambda: str((ms << 16) | rng.getrandbits(16)))

    def url(self, platform: str, post_id: str, author: str) -> str:
        if platform == "twitter":
            return f"https://x.com/{author}/status/{post_id}"
        if platform == "facebook":
            return f"https://www.facebook.com/{post_id}"
        if platform == "instagram":
            code = "".join(self.rng.choice(self.B64) for _ in range(11))
            return f"https://www.instagram.com/p/{code}/"
        if platform == "bluesky":
            return f"https://bsky.app/profile/{author}/post/{post_id}"
        user, _, host = author.partition("@")
        return f"https://{host}/@{user}/{post_id}"


class Authors:
    """Made-up member-of-the-public handles, some of whom post more than once."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: dict[str, list[str]] = {}

    def pick(self, platform: str) -> str:
        used = self.used.setdefault(platform, [])
        if used and self.rng.random() < 0.15:
            return self.rng.choice(used)
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
        if platform == "facebook":
            handle = f"{first}.{last}.{rng.randrange(1, 99)}"
        elif platform == "bluesky":
            handle = f"{first}{last}.bsky.social"
        elif platform == "mastodon":
            handle = f"{first}_{last}@{rng.choice(MASTODON_HOSTS)}"
        elif platform == "instagram":
            handle = rng.choice((f"{first}.{last}", f"{first}_{rng.randrange(80, 99)}x"))
        else:
            handle = rng.choice(
                (
                    f"{first}{rng.randrange(1, 99)}",
                    f"{first.title()}{last.title()}",
                    f"{first}_{last[0]}{rng.randrange(70, 99)}",
                    f"{first}{last[0]}_{rng.randrange(1988, 2006)}",
                    f"{first.title()}InNorthbrook",
                    f"{last}y_{first}",
                )
            )
        used.append(handle)
        return handle


def mention_time(rng: random.Random, spec: Spec) -> datetime:
    """A time in the window, mostly in waking hours."""
    while True:
        t = WINDOW_START + timedelta(days=rng.uniform(spec.earliest_day, spec.latest_day))
        if t.hour < 6 and rng.random() < 0.8:
            t += timedelta(hours=rng.uniform(6, 12))
        t = t.replace(microsecond=rng.randrange(1000) * 1000)
        if WINDOW_START < t < WINDOW_END:
            return t


def official_times(rng: random.Random, n: int, first_day: float, last_day: float) -> list[datetime]:
    """``n`` working-hours times spread evenly between two points of the window (in days)."""
    times = []
    step = (last_day - first_day) / n
    for i in range(n):
        local = WINDOW_START + timedelta(days=first_day + (i + 0.5) * step + rng.uniform(-0.2, 0.2))
        t = uk_time(local.day, rng.randrange(8, 18), rng.randrange(60), rng.randrange(60))
        times.append(min(max(t, WINDOW_START + timedelta(hours=1)), WINDOW_END))
    return times


def pick_platform(rng: random.Random, spec: Spec) -> str:
    if spec.platform:
        return spec.platform
    r = rng.random()
    if r < 0.58:
        return "twitter"
    if r < 0.92:
        return "facebook"
    return "instagram" if r < 0.95 else "bluesky" if r < 0.975 else "mastodon"


def pick_account(rng: random.Random, spec: Spec, platform: str) -> str:
    if spec.account:
        return spec.account
    if platform in ("facebook", "instagram"):
        return HOSPITALS
    if platform == "twitter" and "maternity" in spec.departments and rng.random() < 0.5:
        return MATERNITY
    return NHS


def build_mentions(rng: random.Random, ids: Ids, authors: Authors) -> list[Item]:
    specs = [s for dept, block in MENTIONS.items() for s in parse_table(block, (dept,))]
    specs += SPECIAL_MENTIONS
    items = []
    for spec in specs:
        platform = pick_platform(rng, spec)
        account = pick_account(rng, spec, platform)
        text = compose(rng, spec, platform, account)
        if len(text) > TEXT_LIMITS.get(platform, 10_000):
            platform, account = "facebook", HOSPITALS
            text = compose(rng, spec, platform, account)
        t = mention_time(rng, spec)
        author = authors.pick(platform)
        post_id = ids.make(platform, t)
        url = ids.url(platform, post_id, author) if rng.random() > 0.05 else None
        items.append(
            Item(
                platform=platform,
                post_id=post_id,
                kind="mention",
                account=account,
                author=author,
                text=text,
                created_at=t,
                url=url,
                photo=spec.photo,
                category="urgent_mention" if spec.urgent else "mention",
                sentiment=spec.sentiment,
                departments=spec.departments,
                urgent=spec.urgent,
                abusive=spec.abusive,
                lang=spec.lang,
            )
        )
    return items


def build_official(rng: random.Random, ids: Ids) -> list[Item]:
    fills = {
        "nhs_number": nhs_number(rng),
        "mobile": f"07700 900{rng.randrange(1000):03d}",
        "landline": f"0113 496 0{rng.randrange(1000):03d}",
    }
    plan = {NHS: (0.0, 30.0), HOSPITALS: (0.0, 30.0), MATERNITY: (0.2, MATERNITY_ACTIVE_DAYS)}
    items = []
    for account, (first_day, last_day) in plan.items():
        posts = [p for p in OFFICIAL_POSTS if p.account == account]
        floating = [p for p in posts if p.day is None]
        rng.shuffle(floating)
        times = official_times(rng, len(floating), first_day, last_day)
        scheduled = list(zip(floating, times, strict=True))
        for p in posts:
            if p.day is not None:
                scheduled.append((p, uk_time(p.day, rng.randrange(8, 17), rng.randrange(60))))
        platform = OFFICIAL_PLATFORM[account]
        for post, t in scheduled:
            post_id = ids.make(platform, t, FACEBOOK_PAGE_ID if platform == "facebook" else None)
            text = re.sub(r"\{(\w+)\}", lambda m: fills[m.group(1)], post.text)
            items.append(
                Item(
                    platform=platform,
                    post_id=post_id,
                    kind="official_post",
                    account=account,
                    author=account,
                    text=text,
                    created_at=t,
                    url=ids.url(platform, post_id, account),
                    photo=post.photo,
                    category="official_breach" if post.breaches else "official_post",
                    sentiment="neutral",
                    departments=post.departments,
                    breaches=post.breaches,
                )
            )
    return items


def after(rng: random.Random, parent: datetime, max_hours: float) -> datetime:
    room = min(max_hours * 3600, (WINDOW_END - parent).total_seconds())
    return parent + timedelta(seconds=rng.uniform(min(120, room / 2), room))


def build_replies(
    rng: random.Random, ids: Ids, authors: Authors, official: list[Item]
) -> list[Item]:
    items = []
    for reply in REPLIES:
        parents = [
            o
            for o in official
            if o.account == reply.account and (reply.to is None or reply.to in o.text)
        ]
        parent = rng.choice(parents)
        t = after(rng, parent.created_at, 18)
        author = authors.pick("twitter")
        post_id = ids.make("twitter", t)
        items.append(
            Item(
                platform="twitter",
                post_id=post_id,
                kind="reply",
                account=reply.account,
                author=author,
                text=f"@{reply.account} {reply.text}",
                created_at=t,
                url=ids.url("twitter", post_id, author),
                photo=False,
                category="abusive_reply" if reply.abusive else "reply",
                sentiment=reply.sentiment,
                departments=reply.departments,
                abusive=reply.abusive,
            )
        )
    return items


def build_comments(
    rng: random.Random, ids: Ids, authors: Authors, official: list[Item]
) -> list[Item]:
    """Comments under the page's routine posts, on the same topic where the comment has one."""
    parents = [o for o in official if o.account == HOSPITALS and not o.breaches]
    count = dict.fromkeys((p.post_id for p in parents), 0)
    items = []
    for spec in parse_table(COMMENTS):
        fitting = [p for p in parents if set(p.departments) & set(spec.departments)]
        if not fitting:
            fitting = [p for p in parents if not p.departments] or parents
        fewest = min(count[p.post_id] for p in fitting)
        parent = rng.choice([p for p in fitting if count[p.post_id] == fewest])
        count[parent.post_id] += 1
        t = after(rng, parent.created_at, 30)
        author = authors.pick("facebook")
        post_id = ids.make("facebook", t, parent.post_id.split("_")[1])
        text = fill_slots(rng, spec.text)
        if rng.random() < 0.2:
            text = misspell(rng, text)
        items.append(
            Item(
                platform="facebook",
                post_id=post_id,
                kind="comment",
                account=HOSPITALS,
                author=author,
                text=text,
                created_at=t,
                url=ids.url("facebook", post_id, author),
                photo=False,
                category="comment",
                sentiment=spec.sentiment,
                departments=spec.departments,
            )
        )
    return items


def shuffle_a_little(rng: random.Random, items: list[Item]) -> list[Item]:
    """Time order, with some neighbours less than six hours apart swapped (as fetched)."""
    items = sorted(items, key=lambda it: (it.created_at, it.key))
    for i in range(1, len(items)):
        close = items[i].created_at - items[i - 1].created_at < timedelta(hours=6)
        if close and rng.random() < 0.12:
            items[i - 1], items[i] = items[i], items[i - 1]
    return items


def malformed_line(line_no: int, rng: random.Random, ids: Ids, near: datetime) -> str:
    """The broken line that goes at ``line_no`` (see `MALFORMED_LINES`)."""
    post_id = ids.make("twitter", near)
    author = f"{rng.choice(FIRST_NAMES)}{rng.randrange(1, 99)}"
    obj: dict[str, Any] = {
        "platform": "twitter",
        "id": post_id,
        "kind": "mention",
        "account": NHS,
        "author": author,
        "text": "@NorthbrookNHS waited 4 hours in a&e with my lad and still nobody has seen him",
        "created_at": timestamp(near, "twitter"),
        "url": f"https://x.com/{author}/status/{post_id}",
    }
    if line_no == 17:
        return json.dumps(obj, ensure_ascii=False)[:150]
    if line_no == 88:
        del obj["text"]
    elif line_no == 150:
        del obj["created_at"]
    elif line_no == 233:
        obj["kind"] = "retweet"
    elif line_no == 301:
        obj["created_at"] = "last Tuesday, 14:05"
    return json.dumps(obj, ensure_ascii=False)


def build() -> tuple[list[str], list[str]]:
    """The sample lines and the expected lines (without newlines)."""
    rng = random.Random(SEED)
    ids, authors = Ids(rng), Authors(rng)
    official = build_official(rng, ids)
    items = build_mentions(rng, ids, authors)
    items += official
    items += build_replies(rng, ids, authors, official)
    items += build_comments(rng, ids, authors, official)
    items = shuffle_a_little(rng, items)

    sample: list[str] = []
    expected: list[str] = []
    pending = iter(items)
    total = len(items) + len(MALFORMED_LINES)
    for line_no in range(1, total + 1):
        if line_no in MALFORMED_LINES:
            near = items[min(line_no - 1, len(items) - 1)].created_at
            sample.append(malformed_line(line_no, rng, ids, near))
            continue
        item = next(pending)
        sample.append(json.dumps(item.line(), ensure_ascii=False))
        expected.append(json.dumps(item.expected(line_no), ensure_ascii=False))
    return sample, expected


def summary(expected: Sequence[str]) -> str:
    """Counts per category, sentiment and department, for humans."""
    rows = [json.loads(line) for line in expected]
    by_category = Counter(r["category"] for r in rows)
    mentions = [r for r in rows if r["category"] in ("mention", "urgent_mention")]
    by_sentiment = Counter(r["sentiment"] for r in mentions)
    by_department = Counter(d for r in mentions for d in r["departments"])
    parts = [
        "categories: " + ", ".join(f"{k}={v}" for k, v in sorted(by_category.items())),
        "mention sentiments: " + ", ".join(f"{k}={v}" for k, v in sorted(by_sentiment.items())),
        "mentions per department: "
        + ", ".join(f"{k}={v}" for k, v in sorted(by_department.items())),
    ]
    return "\n".join(parts)


def write(out: Path, expected_out: Path) -> tuple[int, int]:
    sample, expected = build()
    out.parent.mkdir(parents=True, exist_ok=True)
    expected_out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(f"{line}\n" for line in sample), encoding="utf-8", newline="\n")
    expected_out.write_text(
        "".join(f"{line}\n" for line in expected), encoding="utf-8", newline="\n"
    )
    return len(sample), len(expected)


def main(argv: Sequence[str] | None = None) -> int:
    here = Path(__file__).parent
    parser = argparse.ArgumentParser(
        prog="python -m socmon.sample.generate", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--out", type=Path, default=here / "sample.jsonl", help="sample file")
    parser.add_argument(
        "--expected",
        type=Path,
        default=None,
        help="answer key (default: expected.jsonl beside --out)",
    )
    parser.add_argument("--summary", action="store_true", help="print counts per category")
    args = parser.parse_args(argv)
    expected_out = args.expected or args.out.with_name("expected.jsonl")
    n_sample, n_expected = write(args.out, expected_out)
    print(f"wrote {n_sample} lines to {args.out} and {n_expected} to {expected_out}")
    if args.summary:
        print(summary(expected_out.read_text(encoding="utf-8").splitlines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
