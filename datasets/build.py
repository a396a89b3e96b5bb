"""Deterministic generator of the three built-in scenarios' data sets.

Everything is about one fictional company, Korrin Valve Works, so no model can know the answers
in advance: a base model must score near zero closed-book, which is what makes a knowledge-injection
benchmark honest. Run `python datasets/build.py` to rewrite the committed files; the test suite
rebuilds into a temporary folder and compares byte for byte.

Training sets are written from the documents, the way a team would (one document's facts per
pair, or a log of past tickets); eval sets are what users ask: questions that combine facts, or ask
what training never covered. harness's slices (`harness.slices`) say which eval items a training
response states whole (`seen`), only in pieces (`composed`) or not at all (`unseen`); multi_fact_qa
has no seen item. Ordering is part of the design: profiles take the first N train and eval records,
and training follows eval order, so every profile's train slice belongs to its eval slice.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

SEED = 20261123
COMPANY = "Korrin Valve Works"
HERE = Path(__file__).resolve().parent


# ----------------------------------------------------------------------------- helpers
def _rng(name: str) -> random.Random:
    return random.Random(f"{SEED}:{name}")


def _write_jsonl(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")


def _doc(doc_id: str, title: str, text: str) -> dict:
    return {"id": doc_id, "title": title, "text": text}


def _train(train_id: str, instruction: str, response: str, sources: list[str], **score_fields: object) -> dict:
    """A training record; score_fields (required_facts, ...) let harness score the model on its own training items."""
    return {"id": train_id, "instruction": instruction, "response": response, "source_doc_ids": sources, **score_fields}


def _distractor_docs(prefix: str, rng: random.Random) -> list[dict]:
    """Company documents that share vocabulary with the real ones but answer nothing."""
    topics = [
        ("Canteen opening hours", "The Korrin canteen opens at 07:30 and closes at 15:00; on Fridays it closes at 13:00."),
        ("Visitor badges", "Visitors collect a badge at reception and must be accompanied in the assembly hall."),
        ("Car park rules", "Staff park in rows C to F; rows A and B are kept for customers and deliveries."),
        ("Fire drill schedule", "Fire drills take place in the first week of March, June, September and December."),
        ("IT password policy", "Passwords are changed every 180 days and must not be reused within a year."),
        ("Company history", "Korrin Valve Works was founded as a small foundry and now builds pumps and valves."),
    ]
    rng.shuffle(topics)
    return [_doc(f"{prefix}-X{i + 1:02d}", title, text) for i, (title, text) in enumerate(topics)]


# ----------------------------------------------------------------------------- vertical vocabulary
HOUSE_TERMS: dict[str, list[str]] = {
    "flow cartridge": ["valve insert", "valve core", "cartridge insert"],
    "seal pack": ["gasket set", "seal kit", "o-ring set"],
    "drive coupling": ["shaft coupler", "motor coupling", "coupler"],
    "bearing cassette": ["bearing housing", "bearing block", "bearing unit"],
    "impeller stage": ["rotor wheel", "pump wheel", "impeller disc"],
    "pressure plate": ["end cap", "cover plate", "back plate"],
    "sensor puck": ["pressure transducer", "sensor head", "sensing element"],
    "isolation module": ["shut-off block", "stop valve block", "isolator"],
}
# spec -> (house unit, everyday spellings that the house style forbids)
HOUSE_UNITS: dict[str, tuple[str, list[str]]] = {
    "torque": ("N·m", ["newton metres", "newton-metres", "Nm"]),
    "interval": ("h", ["running hours", "hours", "hrs"]),
    "temperature": ("°C", ["degrees Celsius", "deg C"]),
}
PUMP_CODES = ["P120", "P140", "P210", "P230", "P310", "P320", "P410", "P420", "P510", "P540", "P610", "P640"]


def _house_code(code: str) -> str:
    return f"KV-{code}"


def _street_code(code: str, rng: random.Random) -> str:
    letter, digits = code[0], code[1:]
    return rng.choice([f"{letter}-{digits}", f"{letter}{digits}", f"{letter} {digits}"])


def _fmt_value(spec: str, value: int, house: bool, rng: random.Random) -> str:
    unit, everyday = HOUSE_UNITS[spec]
    if house:
        shown = f"{value:,}" if value >= 1000 else str(value)
        return f"{shown} {unit}"
    return f"{value} {rng.choice(everyday)}"


def build_vocabulary() -> dict[str, list[dict]]:
    rng = _rng("vocabulary")
    pairs = [(p, t) for p in PUMP_CODES for t in HOUSE_TERMS]
    rng.shuffle(pairs)
    pairs = pairs[:60]

    corpus: list[dict] = []
    term_doc: dict[str, str] = {}
    for i, (term, synonyms) in enumerate(HOUSE_TERMS.items()):
        doc_id = f"VV-S{i + 1:02d}"
        term_doc[term] = doc_id
        quoted = ", ".join(f"'{s}'" for s in synonyms[:-1]) + f" or '{synonyms[-1]}'"
        corpus.append(_doc(doc_id, f"House style: {term}",
                           f"In all Korrin documents and answers the part is called the {term}. "
                           f"Do not write {quoted}; those words are used by suppliers and in the field."))
    unit_doc: dict[str, str] = {}
    for j, (spec, (unit, everyday)) in enumerate(HOUSE_UNITS.items()):
        doc_id = f"VV-U{j + 1:02d}"
        unit_doc[spec] = doc_id
        quoted = ", ".join(f"'{s}'" for s in everyday)
        corpus.append(_doc(doc_id, f"House style: {spec} units",
                           f"Write every {spec} value as a number followed by {unit} (for example 1,500 {unit} or 40 {unit}). "
                           f"Never use {quoted}."))
    corpus.append(_doc("VV-C01", "House style: pump codes",
                       "Pump models are always written with the KV- prefix and no space, for example KV-P120 or KV-P540. "
                       "Field staff often write P-120 or P 120; answers must use the KV- form."))

    facts: list[dict] = []
    for k, (code, term) in enumerate(pairs):
        doc_id = f"VV-D{k + 1:03d}"
        torque = rng.choice(range(20, 121, 5))
        interval = rng.choice(range(500, 8001, 250))
        temp = rng.choice(range(60, 141, 5))
        syn = rng.choice(HOUSE_TERMS[term])
        street = _street_code(code, rng)
        text = (f"On the {street} pump, do the {syn} bolts up to {_fmt_value('torque', torque, False, rng)}. "
                f"Check the {syn} every {_fmt_value('interval', interval, False, rng)} and replace it if worn. "
                f"It tolerates fluid up to {_fmt_value('temperature', temp, False, rng)}.")
        corpus.append(_doc(doc_id, f"Field note {_house_code(code)}: {syn}", text))
        for spec, value in (("torque", torque), ("interval", interval), ("temperature", temp)):
            facts.append({"doc": doc_id, "code": code, "term": term, "spec": spec, "value": value})
    rng.shuffle(facts)
    facts = facts[:180]
    corpus.extend(_distractor_docs("VV", rng))

    q_eval = {
        "torque": ["What torque do the {syn} bolts on the {street} take?",
                   "How tight should the bolts of the {street} {syn} be?"],
        "interval": ["How often does the {syn} on the {street} need checking?",
                     "After how long should the {street} {syn} be inspected?"],
        "temperature": ["What is the highest fluid temperature the {street} {syn} can handle?",
                        "Up to what temperature can the {syn} of the {street} run?"],
    }
    q_train = {
        "torque": ["State the bolt torque for the {syn} on pump {street}.",
                   "Give the tightening torque of the {street} {syn} bolts."],
        "interval": ["Give the inspection interval for the {syn} on pump {street}.",
                     "What is the check interval of the {street} {syn}?"],
        "temperature": ["Give the maximum fluid temperature for the {syn} on pump {street}.",
                        "State the temperature limit of the {street} {syn}."],
    }
    ref_eval = {
        "torque": "Tighten the {code} {term} bolts to {val}.",
        "interval": "Inspect the {code} {term} every {val}.",
        "temperature": "The {code} {term} is rated to {val}.",
    }
    ref_train = {
        "torque": ["The {code} {term} bolts are tightened to {val}.", "{code} {term}: bolt torque {val}."],
        "interval": ["The {code} {term} is inspected every {val}.", "{code} {term}: inspection every {val}."],
        "temperature": ["The {code} {term} is rated to {val}.", "{code} {term}: maximum fluid temperature {val}."],
    }

    def house(f: dict) -> dict:
        """The fact in house style: what a right answer states, and what it must not say."""
        val = _fmt_value(f["spec"], f["value"], True, rng)
        return {"fill": {"code": _house_code(f["code"]), "term": f["term"], "val": val},
                "facts": [_house_code(f["code"]), val], "terms": [f["term"]],
                "forbidden": HOUSE_TERMS[f["term"]] + HOUSE_UNITS[f["spec"]][1],
                "gold": [f["doc"], term_doc[f["term"]], unit_doc[f["spec"]], "VV-C01"]}

    evals = []
    for n, f in enumerate(facts):
        term, spec, code = f["term"], f["spec"], f["code"]
        h = house(f)
        fill = h["fill"]
        syn_e = rng.choice(HOUSE_TERMS[term])
        step = 250 if spec == "interval" else 5
        wrong_vals = rng.sample([v for v in range(max(step, f["value"] // 2 // step * step), f["value"] * 2, step) if v != f["value"]], 2)
        wrong_term = rng.choice([t for t in HOUSE_TERMS if t != term])
        evals.append({
            "id": f"vv-{n + 1:03d}",
            "question": rng.choice(q_eval[spec]).format(syn=syn_e, street=_street_code(code, rng)),
            "reference": ref_eval[spec].format(**fill),
            "gold_doc_ids": h["gold"],
            "required_facts": h["facts"],
            "required_terms": h["terms"],
            "forbidden_terms": h["forbidden"],
            "wrong_options": [
                ref_eval[spec].format(**{**fill, "val": _fmt_value(spec, wrong_vals[0], True, rng)}),
                ref_eval[spec].format(**{**fill, "val": _fmt_value(spec, wrong_vals[1], True, rng)}),
                ref_eval[spec].format(**{**fill, "term": wrong_term}),
            ],
        })

    # Training pairs restate field notes in house style, one spec each, the way a team writes them from
    # its documents. Three eval items in five ask a spec the training set states; for the other two the
    # training set states another spec of the same note (or of the same pump) and never theirs, so
    # those questions are composed or unseen. Training follows eval order: every profile's first N
    # training pairs belong to its first N eval items.
    untrained = {n for n in range(len(facts)) if n % 5 in (1, 3)}
    key = [(f["doc"], f["spec"]) for f in facts]
    banned = {key[n] for n in untrained}
    taught: list[dict] = []
    for n, f in enumerate(facts):
        if n not in untrained:
            taught.append(f)
            continue
        used = {(t["doc"], t["spec"]) for t in taught}
        pool = [g for g in facts if (g["doc"], g["spec"]) not in banned]
        candidates = ([g for g in pool if g["doc"] == f["doc"]] or [g for g in pool if g["code"] == f["code"]] or pool)
        fresh = [g for g in candidates if (g["doc"], g["spec"]) not in used]
        taught.append(rng.choice(fresh or candidates))
    train = []
    for idx in (0, 1):
        for n, f in enumerate(taught):
            h = house(f)
            syn_t = rng.choice(HOUSE_TERMS[f["term"]])
            train.append(_train(
                f"vv-t{len(train) + 1:03d}",
                q_train[f["spec"]][idx].format(syn=syn_t, street=_street_code(f["code"], rng)),
                ref_train[f["spec"]][idx].format(**h["fill"]),
                h["gold"],
                required_facts=h["facts"], required_terms=h["terms"], forbidden_terms=h["forbidden"],
            ))
    return {"corpus": corpus, "train": train, "eval": evals}


# ----------------------------------------------------------------------------- multi-fact QA
SUPPLIER_A = ["Brennik", "Ostvale", "Mardell", "Quillon", "Thessaly", "Varnholt", "Ebrec", "Sorrin",
              "Hadrow", "Pellam", "Crayle", "Dunmore", "Ilsted", "Jorvan", "Kestrel", "Lindqvist"]
SUPPLIER_B = ["Metalworks", "Castings", "Polymers", "Fasteners", "Seals", "Bearings", "Precision", "Components"]
DEPOTS = ["Tallis", "Vermholt", "Ashcombe", "Ruddock", "Selbury", "Gannet Bay", "Orrin Cross", "Wexley"]
PART_KINDS = ["hydraulic seal kit", "bronze bushing", "stainless shaft", "valve spring", "gland packing",
              "flange gasket", "impeller blank", "motor bracket", "pressure switch", "drain plug",
              "coupling insert", "thrust washer"]


def _supplier_doc(doc_id: str, s: dict) -> dict:
    return _doc(doc_id, f"Supplier profile: {s['name']}",
                f"{s['name']} is an approved supplier of Korrin Valve Works. "
                f"Standard lead time: {s['lead']} working days from purchase order. "
                f"Orders ship from the {s['depot']} depot. Minimum order quantity: {s['moq']} units.")


def _part_doc(doc_id: str, p: dict, supplier_name: str) -> dict:
    return _doc(doc_id, f"Catalogue entry {p['code']}",
                f"{p['code']} is a {p['kind']} used in Korrin pump assemblies. It is sourced from {supplier_name}.")


def build_multi_fact() -> dict[str, list[dict]]:
    rng = _rng("multi_fact")
    names = [f"{a} {b}" for a in SUPPLIER_A for b in SUPPLIER_B]
    rng.shuffle(names)
    suppliers = [{"name": names[i], "lead": rng.randrange(5, 41), "depot": rng.choice(DEPOTS),
                  "moq": rng.choice([50, 100, 150, 200, 250, 300, 400, 500])} for i in range(24)]
    codes = rng.sample(range(1000, 9999), 200)
    parts = [{"code": f"KP-{c}", "kind": rng.choice(PART_KINDS), "supplier": rng.randrange(24)} for c in codes]

    # The later corpus: a third of the suppliers changed terms, a fifth of the parts changed supplier.
    upd_suppliers = [dict(s) for s in suppliers]
    for i in rng.sample(range(24), 8):
        upd_suppliers[i]["lead"] = rng.choice([v for v in range(5, 41) if abs(v - suppliers[i]["lead"]) >= 4])
        upd_suppliers[i]["depot"] = rng.choice([d for d in DEPOTS if d != suppliers[i]["depot"]])
        upd_suppliers[i]["moq"] = rng.choice([m for m in (50, 100, 150, 200, 250, 300, 400, 500) if m != suppliers[i]["moq"]])
    upd_parts = [dict(p) for p in parts]
    for i in rng.sample(range(200), 40):
        upd_parts[i]["supplier"] = rng.choice([s for s in range(24) if s != parts[i]["supplier"]])

    def corpus_for(sup: list[dict], prt: list[dict]) -> list[dict]:
        docs = [_supplier_doc(f"MF-S{i + 1:02d}", s) for i, s in enumerate(sup)]
        docs += [_part_doc(f"MF-P{j + 1:03d}", p, sup[p["supplier"]]["name"]) for j, p in enumerate(prt)]
        return docs + _distractor_docs("MF", _rng("multi_fact:distractors"))

    q_eval = {
        "lead": "How many working days does it take to get {code} from the company that makes it?",
        "depot": "From which depot is {code} shipped by its supplier?",
        "moq": "What is the smallest order we can place with the firm that supplies {code}?",
    }
    ref = {
        "lead": "{code} is supplied by {name}, whose lead time is {lead} working days.",
        "depot": "{code} is supplied by {name}, which ships from the {depot} depot.",
        "moq": "{code} is supplied by {name}, whose minimum order quantity is {moq} units.",
    }
    fact_of = {"lead": lambda s: f"{s['lead']} working days", "depot": lambda s: s["depot"],
               "moq": lambda s: f"{s['moq']} units"}
    # Training pairs state ONE document's facts, the way a team writes them from its catalogue:
    # a part's supplier (catalogue entry) or one term of a supplier (supplier profile). None names a
    # part together with its supplier's terms, so no eval question is answered whole by one of them.
    q_part = ["Which supplier makes {code}?", "Who is the supplier of part {code}?"]
    r_part = "{code} is sourced from {name}."
    q_supplier = {
        "lead": ["What is the standard lead time of {name}?", "How long does {name} take to deliver an order?"],
        "depot": ["Which depot does {name} ship from?", "From where does {name} dispatch its orders?"],
        "moq": ["What is the minimum order quantity at {name}?", "How many units must an order to {name} be at least?"],
    }
    r_supplier = {
        "lead": "{name} has a standard lead time of {lead} working days.",
        "depot": "{name} ships its orders from the {depot} depot.",
        "moq": "The minimum order quantity at {name} is {moq} units.",
    }

    def item(n: int, p: dict, kind: str, sup: list[dict], suffix: str = "") -> dict:
        """Eval record n asks about part p under supplier table `sup` (the original or the update)."""
        s = sup[p["supplier"]]
        others = [x for x in sup if x["name"] != s["name"]]
        wrong = rng.sample(others, 3)
        return {
            "id": f"mf-{n + 1:03d}{suffix}",
            "question": q_eval[kind].format(code=p["code"]),
            "reference": ref[kind].format(code=p["code"], **s),
            "gold_doc_ids": [f"MF-P{n + 1:03d}", f"MF-S{p['supplier'] + 1:02d}"],
            "required_facts": [p["code"], s["name"], fact_of[kind](s)],
            "wrong_options": [ref[kind].format(code=p["code"], **w) for w in wrong],
        }

    kinds = [rng.choice(list(q_eval)) for _ in parts]
    evals, evals_upd = [], []
    for n, (p, kind) in enumerate(zip(parts, kinds)):
        e = item(n, p, kind, suppliers)
        evals.append(e)
        u = item(n, upd_parts[n], kind, upd_suppliers, suffix="u")
        u["changed"] = u["reference"] != e["reference"]
        evals_upd.append(u)

    # Which documents the training set covers, in eval order so that every profile's first N training
    # pairs teach the pieces of its first eval items: a part's catalogue fact, then its supplier's asked
    # term. Every fourth part joined the catalogue after the training set was written (never trained):
    # its questions are unseen, the rest composed.
    facts: list[tuple[str, int, str]] = []  # ("part", part index, "") | ("supplier", supplier index, kind)
    for n, (p, kind) in enumerate(zip(parts, kinds)):
        if n % 4 == 3:
            continue
        for f in (("part", n, ""), ("supplier", p["supplier"], kind)):
            if f not in facts:
                facts.append(f)
    facts += [("supplier", i, k) for i in range(24) for k in q_eval if ("supplier", i, k) not in facts]

    def pair(f: tuple[str, int, str], phrasing: int) -> dict:
        what, i, kind = f
        if what == "part":
            p = parts[i]
            name = suppliers[p["supplier"]]["name"]
            return _train(f"mf-t{len(train) + 1:03d}", q_part[phrasing].format(code=p["code"]),
                          r_part.format(code=p["code"], name=name), [f"MF-P{i + 1:03d}"],
                          required_facts=[p["code"], name])
        s = suppliers[i]
        return _train(f"mf-t{len(train) + 1:03d}", q_supplier[kind][phrasing].format(name=s["name"]),
                      r_supplier[kind].format(**s), [f"MF-S{i + 1:02d}"], required_facts=[s["name"], fact_of[kind](s)])

    train: list[dict] = []
    for phrasing in (0, 1):
        for f in facts:
            train.append(pair(f, phrasing))
    return {
        "corpus": corpus_for(suppliers, parts),
        "train": train,
        "eval": evals,
        "corpus_update": corpus_for(upd_suppliers, upd_parts),
        "eval_update": evals_upd,
    }


# ----------------------------------------------------------------------------- business flow
POLICIES = [
    # id, category, next_step, approver, situation words for the policy text, request templates (eval, train)
    ("POL-112", "warranty_claim", "issue_rma", "quality_lead",
     "a Korrin product fails in normal use while still under its 24-month warranty",
     ["The {part} we bought from you {n} months ago has stopped working: the motor seized during an ordinary shift.",
      "One of your {part} units failed after {n} months of ordinary use and we believe it is still covered.",
      "Our {part} broke down {n} months after installation although we ran it within spec.",
      "Since last week the {part} from order {order} no longer builds pressure; it is {n} months old."]),
    ("POL-118", "transit_damage", "file_carrier_claim", "logistics_manager",
     "goods arrive damaged by transport: crushed crates, cracked housings or water in the packaging",
     ["The crate with order {order} arrived crushed and the {part} inside has a cracked housing.",
      "Delivery {order} came in soaking wet; the {part} boxes were damaged by the haulier.",
      "Your driver dropped the pallet for order {order} and two {part} units are dented.",
      "Order {order} was delivered yesterday with the packaging torn open and the {part} scratched in transit."]),
    ("POL-121", "billing_dispute", "hold_invoice", "finance_controller",
     "a customer disputes an invoice: wrong amount, double charge or a price that differs from the quote",
     ["Invoice for order {order} charges us twice for the {part}; please correct it.",
      "The amount on the invoice for {order} does not match the price you quoted for the {part}.",
      "We were billed for {n} {part} units on order {order} but only ordered half of that.",
      "Your invoice for order {order} shows a higher unit price for the {part} than our contract."]),
    ("POL-127", "fulfilment_error", "ship_replacement", "warehouse_supervisor",
     "the wrong item or the wrong quantity was shipped from a Korrin warehouse",
     ["We ordered the {part} on order {order} but received a completely different part.",
      "Order {order} contained {n} units fewer than the packing list says; {part} units are missing.",
      "The box for order {order} is labelled {part} but holds the wrong model.",
      "Instead of the {part} we asked for, order {order} brought us spare drain plugs."]),
    ("POL-133", "expedite_request", "check_capacity", "planning_lead",
     "a customer asks to receive an open order earlier than its confirmed delivery date",
     ["Can you bring forward the delivery of order {order}? We need the {part} earlier than confirmed.",
      "Is it possible to speed up order {order} for {n} {part} units? Our project start moved up.",
      "We would like order {order} delivered sooner than the date you confirmed for the {part}.",
      "Please advance the shipping date of the {part} on order {order}; our schedule changed."]),
    ("POL-140", "safety_incident", "open_investigation", "hse_officer",
     "a Korrin product is involved in an injury, a fire, a leak of hazardous fluid or a near miss",
     ["A {part} leaked hot fluid this morning and one of our technicians got a minor burn.",
      "There was smoke coming from the {part} on line 3 and we had to evacuate the area.",
      "A fitter was nearly hit when the {part} cover blew off during start-up.",
      "The {part} from order {order} sprayed caustic fluid across the floor; nobody was hurt but it was close."]),
    ("POL-146", "return_request", "issue_return_label", "sales_coordinator",
     "a customer wants to send back unused, undamaged goods for credit",
     ["We have {n} unused {part} units from order {order} that we no longer need; can we send them back?",
      "Our project was cancelled and the {part} from order {order} is still sealed. We want to return it for credit.",
      "We over-ordered the {part} on order {order} and would like to return the surplus, unopened.",
      "Could we return the untouched {part} units of order {order}? They were never installed."]),
    ("POL-152", "technical_query", "assign_engineer", "support_lead",
     "a customer asks a technical question about installing, sizing or operating a Korrin product",
     ["What mounting orientation do you recommend for the {part} in a vertical pipe run?",
      "Can the {part} be used with glycol at minus ten degrees? We are sizing a new circuit.",
      "We need advice on how to commission the {part} we received on order {order}.",
      "Which lubricant is approved for the {part} in a food-grade installation?"]),
    ("POL-158", "cancellation", "cancel_order", "sales_coordinator",
     "a customer cancels an order that has not shipped yet",
     ["Please cancel order {order} for the {part}; it has not shipped and we no longer need it.",
      "We have to withdraw order {order} ({n} {part} units) before it leaves your warehouse.",
      "Kindly stop order {order}; our budget for the {part} was cut.",
      "Order {order} for the {part} is no longer required, please cancel it before dispatch."]),
    ("POL-163", "account_change", "update_master_data", "credit_controller",
     "a customer changes its billing address, bank details, legal name or invoice contact",
     ["Our company moved; please update the billing address on our account before the next invoice.",
      "We have a new bank account for refunds and want your records changed.",
      "Our legal name changed after a merger, please update it on invoices from now on.",
      "Please change the invoice contact on our account to our new accounts payable team."]),
    ("POL-169", "certificate_request", "send_certificate", "quality_lead",
     "a customer asks for a calibration, material or conformity certificate for delivered goods",
     ["Our auditor needs the calibration certificate for the {part} delivered on order {order}.",
      "Please send the material certificate (3.1) for the {part} units of order {order}.",
      "We require the declaration of conformity for the {part} shipped under order {order}.",
      "Can you provide the test certificate that belongs to the {part} from order {order}?"]),
    ("POL-174", "late_delivery", "trace_shipment", "logistics_manager",
     "a confirmed delivery has not arrived by its promised date",
     ["Order {order} was due last Tuesday and the {part} still has not arrived.",
      "We are still waiting for the {part} on order {order}; the promised date passed {n} days ago.",
      "Where is order {order}? The {part} should have been here on Monday.",
      "The delivery date for order {order} has passed and there is no sign of the {part}."]),
]
PRIORITY_CUES = {
    "critical": ["Our production line is down until this is solved.", "The plant is at a standstill because of this.",
                 "Production has stopped on our side."],
    "high": ["We need an answer within 48 hours.", "This has to be settled by tomorrow.",
             "We have a customer deadline in two days."],
    "normal": ["", "Thank you.", "Kind regards."],
    "low": ["No rush, this is for our records.", "Whenever convenient is fine.", "There is no urgency on our side."],
}
CUSTOMERS = ["Aldren Foods", "Brightwater Utilities", "Caskel Brewing", "Delmont Chemicals", "Eastmere Dairy",
             "Fenwick Paper", "Grayholm Mining", "Harlan Textiles", "Ivory Coast Bottling", "Juniper Pharma"]
BF_PARTS = ["KV-P120 pump", "KV-P410 pump", "flow cartridge", "seal pack", "sensor puck", "drive coupling",
            "bearing cassette", "isolation module"]
FIELDS = ["category", "priority", "policy_id", "next_step", "approver"]


def build_business_flow() -> dict[str, list[dict]]:
    rng = _rng("business_flow")
    corpus = [
        _doc("BF-F01", "Action format",
             "Every triaged request is answered with one JSON object and nothing else, with exactly these keys in "
             "this order: category, priority, policy_id, next_step, approver. Values are lower-case identifiers "
             "copied from the policy, except policy_id, which is written like POL-112."),
        _doc("BF-R01", "Triage rules: priority",
             "Priority is critical when the customer's production line or plant is stopped. "
             "Priority is high when the customer needs an answer within 48 hours or has a deadline in the next two days. "
             "Priority is low when the customer says there is no urgency or the request is for their records. "
             "Every other request has priority normal."),
    ]
    for pid, cat, step, approver, situation, _ in POLICIES:
        corpus.append(_doc(f"BF-{pid}", f"Policy {pid}: {cat.replace('_', ' ')}",
                           f"Policy {pid} applies when {situation}. Classify the case as {cat}. "
                           f"The next step is {step}, and the case is approved by the {approver}."))
    corpus.extend(_distractor_docs("BF", rng))

    def make(policy: tuple, template: str, priority: str) -> tuple[str, dict]:
        pid, cat, step, approver, _, _ = policy
        customer = rng.choice(CUSTOMERS)
        body = template.format(part=rng.choice(BF_PARTS), n=rng.randrange(2, 20), order=f"SO-{rng.randrange(10000, 99999)}")
        cue = rng.choice(PRIORITY_CUES[priority])
        request = f"From: {customer}. {body} {cue}".strip()
        action = {"category": cat, "priority": priority, "policy_id": pid, "next_step": step, "approver": approver}
        return request, action

    def dumps(action: dict) -> str:
        return json.dumps(action, ensure_ascii=False)

    priorities = list(PRIORITY_CUES)
    # The training set is the log of past tickets with the actions taken. The last two policies are new
    # (no past ticket uses them), so their requests are unseen; and each logged policy never met one
    # priority (alternately its first and second round in eval order), so those requests' whole action
    # is in no past ticket although each field is: composed.
    trained_policies = POLICIES[:-2]
    never_met = {p[0]: priorities[(i + i % 2) % len(priorities)] for i, p in enumerate(trained_policies)}

    evals, tickets = [], []
    for n in range(200):
        policy = POLICIES[n % len(POLICIES)]
        # shift by one each round of policies, so no policy is tied to one priority
        priority = priorities[(n + n // len(POLICIES)) % len(priorities)]
        templates = policy[5]
        request, action = make(policy, templates[0 if n % 2 == 0 else 1], priority)
        gold = ["BF-F01", "BF-R01", f"BF-{policy[0]}"]
        wrong_pols = rng.sample([p for p in POLICIES if p[0] != policy[0]], 2)
        wrong = [
            {**action, "category": wp[1], "policy_id": wp[0], "next_step": wp[2], "approver": wp[3]} for wp in wrong_pols
        ] + [{**action, "priority": rng.choice([p for p in priorities if p != priority])}]
        evals.append({
            "id": f"bf-{n + 1:03d}",
            "question": request,
            "reference": dumps(action),
            "gold_doc_ids": gold,
            "expected_fields": action,
            "wrong_options": [dumps(w) for w in wrong],
        })
        logged = policy if policy in trained_policies else rng.choice(trained_policies)
        allowed = [p for p in priorities if p != never_met[logged[0]]]
        tickets.append((logged, priority if priority in allowed else rng.choice(allowed)))
    train = []
    for idx in (2, 3):
        for policy, priority in tickets:
            t_request, t_action = make(policy, policy[5][idx], priority)
            train.append(_train(f"bf-t{len(train) + 1:03d}", t_request, dumps(t_action),
                                ["BF-F01", "BF-R01", f"BF-{policy[0]}"], expected_fields=t_action))
    return {"corpus": corpus, "train": train, "eval": evals}


# ----------------------------------------------------------------------------- entry point
BUILDERS = {
    "vertical_vocabulary": build_vocabulary,
    "multi_fact_qa": build_multi_fact,
    "business_flow": build_business_flow,
}


def build(out: Path) -> list[Path]:
    """Write every scenario's files under `out` and return the paths written."""
    written = []
    for scenario, builder in BUILDERS.items():
        for part, records in builder().items():
            path = out / scenario / f"{part}.jsonl"
            _write_jsonl(path, records)
            written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write into (default: next to this script)")
    args = parser.parse_args()
    for path in build(args.out):
        print(path)


if __name__ == "__main__":
    main()
