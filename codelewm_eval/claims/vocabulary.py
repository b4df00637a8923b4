"""The words the claim audit reads: assertions (of a rise, of significance, of calibration, of
anchors kept, the never-backed ones), scopes (benchmarks, seeds, passes), negation and clause
boundaries, and the words that say what a number is about (a result, a setting, a target)."""

from __future__ import annotations

import re

# The favourable lexicon. A favourable word says that a result is good or became better; it is a
# claim, and needs an ALLOWED positive claim whose scope covers its subject (an ALLOWED negative
# claim never backs one). The rule, by word class (every inflection of each stem counts):
#   IMPROVE     verbs and comparatives of getting better or of winning against a reference: always
#               claims ("improves", "enhanced", "outscored", "edges out", "ahead of", "superior to");
#               any "out-" verb of competing (outperform, outpace, outscore, outclass, ...);
#   RESULT_VERBS verbs of going up: claims where the sentence speaks of a result (a benchmark, a
#               pass count or rate, a metric), not of a setting or a cost ("the loss weight rose");
#   QUALITY     an evaluative adjective or adverb of a strong or successful result, attached to a
#               result ("a substantial gain", "strong separation", "results are impressive");
#   SUCCESS     an adverb of success on a result verb ("successfully separates", "reliably ranks");
#   GATE_SUCCESS a verdict of success: a gate, bar, threshold or target cleared, met or passed,
#               "promotable", "qualifies": a named gate is checked against its verdict, an unnamed
#               one needs a covering claim.
IMPROVE = re.compile(r"\b(improv(?:ements?|ing|ed|es|e)|better|beat(?:ing|s)?|outperform\w*|superior|"
                     r"surpass(?:ed|es|ing)?|enhanc(?:e|es|ed|ing|ement)|strengthen(?:s|ed|ing)?|"
                     r"out(?:pac|scor|class|do|did|strip|rank|shin|shone|match|gun|run|perform|compet)\w*|"
                     r"edg(?:es|ed|ing)? out|ahead of|top(?:s|ped)? (?:the|every|all)|leads? (?:over|on|the)|"
                     r"wins? (?:over|against|on)|dominat(?:es|ed|ing|e)|excel(?:s|led|ling)?|upgrad(?:e|es|ed))\b",
                     re.I)
RESULT_VERBS = re.compile(r"\b(gain(?:ed|ing|s)?|rais(?:ed|es|e)|r[io]se[sn]?|increas(?:ed|es|e)|boost(?:ed|s)?|"
                          r"more than doubled|doubl(?:ed|es|ing)|tripl(?:ed|es|ing)|quadrupl(?:ed|es|ing)|"
                          r"exceed(?:ed|s)?|climb(?:ed|s)?|jump(?:ed|s)?|grew|grow(?:s|n)?|soar(?:ed|s)?|"
                          r"surg(?:ed|es)|leap(?:ed|t|s)?|lifted|lifts?(?= (?:the |its )?(?:[\w@+-]+ ){0,2}?(?:pass\w*|scores?|rates?|"
                          r"accuracy|results?))|elevat(?:ed|es)|bump(?:ed|s)?|"
                          r"went up|moved up|picked up|ticked up)\b", re.I)
_RESULT_NOUN = (r"(?:gains?|improvements?|increases?|jumps?|boosts?|lifts?|uplift|results?|performance|effects?|"
                r"margins?|wins?|progress|separation|discrimination|calibration|accuracy|scores?|numbers|showing|"
                r"rise|growth|advantage|lead|edge|ranking|reranking|scorer)")
_QUALITY = (r"(?:strong(?:er|est|ly)?|solid(?:ly)?|impressive(?:ly)?|remarkabl[ey]|substantial(?:ly)?|dramatic(?:ally)?|"
            r"large|larger|big|bigger|huge|massive|sizable|considerabl[ey]|notabl[ey]|marked(?:ly)?|decisive(?:ly)?|"
            r"excellent|great|greater|good|promising|encouraging|healthy|striking(?:ly)?|outstanding|exceptional(?:ly)?|"
            r"superb|stellar|record|unprecedented|sharp(?:ly)?|steep|convincing(?:ly)?|compelling|effective(?:ly)?|"
            r"successful(?:ly)?|accurate|reliable|high[- ]quality|best|highest|strongest|top)")
QUALITY = re.compile(rf"\b({_QUALITY}\s+(?:[\w-]+\s+)?{_RESULT_NOUN}|{_RESULT_NOUN}\s+(?:[\w.‹›-]+\s+){{0,4}}?(?:is|are|was|were|looks?|"
                     rf"looked|seems?|seemed|remains?|remained|stays?)\s+(?:\w+\s+)?{_QUALITY})\b", re.I)
SUCCESS = re.compile(r"\b(successfully|reliably|accurately|convincingly|decisively|handily|comfortably|"
                     r"consistently|cleanly)\b", re.I)
# what any QUALITY or GATE_SUCCESS match holds: a cheap screen for the sentences worth reading
QUALITY_SCREEN = re.compile(rf"\b{_QUALITY}\b", re.I)
GATE_SCREEN = re.compile(r"\b(?:gates?|bar|threshold|criteri(?:on|a)|hurdle|requirements?|promot\w+|qualif\w+|green)\b",
                         re.I)
GATE_SUCCESS = re.compile(r"\b((?:clear(?:s|ed|ing)?|pass(?:es|ed|ing)?|meet(?:s|ing)?|met|beat(?:s)?|hit(?:s)?|"
                          r"reach(?:es|ed)?|satisf(?:y|ies|ied)|cross(?:es|ed)?)\s+(?:the\s+|its\s+|"
                          r"every\s+|all\s+|each\s+|both\s+)?(?:[\w-]+\s+){0,2}(?:gates?|bar|threshold|"
                          r"criteri(?:on|a)|hurdle|requirements?)|(?:gates?|bar|threshold|criteri(?:on|a)|hurdle)\s+(?:(?:was|were|is|are|"
                          r"has been|have been|got)\s+)(?:cleared|passed|met|satisfied|crossed)|promotable|promoted|qualif(?:y|ies|ied)|green-?lit|"
                          r"green light)\b", re.I)
RESULT_WORDS = re.compile(r"\b(pass(?:es|ed|ing)?|pass@\d|pass rate|solved?|scores?|accuracy|auc|ece|lift|"
                          r"benchmarks?|bench(?:es)?|b-mode|anchors?|tasks?|problems?|results?|rate)\b", re.I)
# what a multiple or a rise is about when it is no result: settings, effort, time and size
WEIGHT_WORDS = re.compile(r"\b(\w*weight\w*|loss|params?|parameters?|visited|visits|demand|rank|lr|epochs?|alpha|"
                          r"capacity|count|copies|replication|holdout|time|timeouts?|budget|faster|slower|speed\w*|"
                          r"throughput|memory|cost|cheaper|larger|smaller|narrower|wider|bigger|per second|"
                          r"candidates/s|rows/s)\b", re.I)
# a condition, or an indirect question ("how often the passing row outscores its decoy"): no assertion
HYPOTHETICAL = re.compile(r"\b(if|unless|whether|only when|provided|how (?:often|much|many|well|far))\b", re.I)
# a requirement or threshold: what a gate asks for is a condition, never a result ("required a gain
# with McNemar p < 0.05", "the gate requires ROC-AUC of at least 0.70", "needs a significant test")
REQUIREMENT = re.compile(r"\b(required|requires?|requirements?|must|needs?|needed|thresholds?|wants?|asks? for)\b",
                         re.I)
SIGNIFICANT = re.compile(r"\b(significant(?:ly)?|statistically (?:real|meaningful))\b", re.I)
CALIBRATED = re.compile(r"\b(well[- ]calibrated|calibrated)\b", re.I)
NEVER = re.compile(r"\b(state[- ]of[- ]the[- ]art|sota|generali[sz](?:ation|ing|ed|es|e)|robust(?:ness|ly)?|"
                   r"best[- ]in[- ]class|solves?)\b", re.I)
ANCHORS_KEPT = re.compile(r"\b((?:kept|keeps|held|holds|retained|retains|preserved|preserves) (?:every|all|each)"
                          r"(?: \w+)? anchors?|(?:every|all|each) anchors? (?:\w+ )?"
                          r"(?:kept|held|pass(?:ed|es)?)|no anchors? (?:was |were )?(?:lost|dropped|regressed)|"
                          r"lost no anchors?|19/19 anchors?)\b", re.I)
GENERAL_SCOPE = re.compile(r"\b(coding|code generation|in general|generally|across (?:the )?(?:\w+ )?benchmarks|"
                           r"(?:all|every|each|any) (?:\w+ ){0,2}benchmarks?|programming|across the board|"
                           r"everywhere|across tasks)\b", re.I)
SEED_SCOPE = re.compile(r"\b(both seeds|all seeds|every seed|each seed|two seeds|2 seeds|across seeds|"
                        r"all (?:the )?required seeds)\b", re.I)
PASS_SCOPE = re.compile(r"\b(both passes|all passes|every pass|each pass|both runs|all runs|every run)\b", re.I)
PASS_WORDS = re.compile(r"\b(pass(?:es|ed)?|holds?|held|clears?|cleared|green)\b", re.I)
UP_WORDS = re.compile(r"\b(rose|rise[sn]?|raised|increased|improved|gained|up|climbed|grew|jumped|went up|better)\b",
                      re.I)
DOWN_WORDS = re.compile(r"\b(regress(?:ed|ion)|fell|dropped|declined|decreased|down|worse|lost|lower)\b", re.I)
SAME_WORDS = re.compile(r"\b(unchanged|stayed|remained|flat|held steady|no change)\b", re.I)
NEGATORS = {"not", "no", "never", "neither", "nor", "without", "cannot", "none", "nothing", "nobody", "n't"}
NEGATION_SKIP = {"be", "been", "being", "is", "was", "are", "were", "do", "does", "did", "has", "have", "had",
                 "statistically", "really", "actually", "yet", "clearly", "meaningfully", "measurably", "any", "a",
                 "an", "the", "much", "reliably", "consistently", "materially", "significantly", "significant",
                 "real", "measurable", "clear", "meaningful", "notable", "noticeable", "substantial", "necessarily",
                 "always", "yet", "further", "more", "at", "all", "fully", "well", "to", "either", "by", "so"}
CLAUSE = re.compile(r"[;:]|,\s*(?:but|while|whereas|although|though|yet)\b|\s(?:but|whereas|while)\s", re.I)
GAIN_METRICS = {"mcnemar_p", "rerank_lift", "rerank_lift_random"}
RERANK_WORDS = re.compile(r"\b(rerank\w*|lift|top-1|best-of-n|pick\w*|selects?)\b", re.I)
SCORE_WORDS = re.compile(r"\b(auc|roc|ece|calibrat\w*|brier|decoys?|scorer|p_pass|separates?|discriminat\w*)\b",
                         re.I)
TARGET_WORDS = re.compile(r"\b(targets?|goals?|aims?|wants?|plans?|expects?|hopes?)\b", re.I)
CELL_RESULT = re.compile(r"\b(pass\w*|solved|before|after|baseline|post|anchors?|B|score|rate|accuracy)\b", re.I)
WORK_DONE = re.compile(r"\b(ran|run|visited|wrote|read|loaded|processed|on)\s*$", re.I)
