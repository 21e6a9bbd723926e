"""Drives a running Rapport through the client openapi-python-client generated from its
OpenAPI document (crates/cli/tests/contract.rs runs it): sign in, create, read, change with
If-Match, be refused a stale If-Match as a Problem, and page through people with cursors.

Usage: python client_check.py BASE_URL EMAIL PASSWORD   (the package `rapport_client` on PYTHONPATH)
Every step prints one line; a failed check raises with what came back.
"""

import sys

from rapport_client import AuthenticatedClient, Client
from rapport_client.api.auth import login
from rapport_client.api.customers import create_customer, get_customer, list_customers, update_customer
from rapport_client.models import Customer, CustomerInput, LoginRequest, PageCustomer, Problem
from rapport_client.types import UNSET


def check(cond, what, got):
    if not cond:
        raise AssertionError(f"{what}: got {got!r}")
    print(f"ok: {what}")


def main(base, email, password):
    anon = Client(base_url=base, raise_on_unexpected_status=True)
    signed_in = login.sync_detailed(client=anon, body=LoginRequest(email=email, password=password))
    check(signed_in.status_code == 200, "login answers 200", (signed_in.status_code, signed_in.content))
    wrong = login.sync_detailed(client=anon, body=LoginRequest(email=email, password="not the password"))
    check(isinstance(wrong.parsed, Problem) and wrong.parsed.status == 401, "a wrong password is a 401 Problem", wrong.parsed)
    client = AuthenticatedClient(base_url=base, token=signed_in.parsed.token, raise_on_unexpected_status=True)

    made = create_customer.sync_detailed(
        client=client, body=CustomerInput(name="Ada Lovelace", email="ada@example.com", tags=["contract"])
    )
    ada = made.parsed
    check(made.status_code == 201 and isinstance(ada, Customer), "create answers 201 with a Customer", made.content)
    check(made.headers.get("location") == f"/api/v1/customers/{ada.id}", "create sends Location", made.headers)

    invalid = create_customer.sync_detailed(client=client, body=CustomerInput(name="Bad", email="not an email"))
    fields = [e.field for e in invalid.parsed.errors] if isinstance(invalid.parsed, Problem) else None
    check(invalid.status_code == 422 and fields == ["email"], "a bad email is a 422 Problem naming it", invalid.content)

    got = get_customer.sync_detailed(ada.id, client=client)
    check(got.status_code == 200 and got.parsed.email == "ada@example.com", "get returns the person", got.content)
    etag = got.headers["etag"]
    check(etag == f'"{ada.version}"', "get sends the version as ETag", etag)

    patched = update_customer.sync_detailed(ada.id, client=client, body=CustomerInput(notes="Analytical engine"), if_match=etag)
    check(patched.status_code == 200 and patched.parsed.version == ada.version + 1, "patch with If-Match applies", patched.content)
    check(patched.parsed.notes == "Analytical engine" and patched.parsed.name == "Ada Lovelace", "patch keeps other fields", patched.parsed)

    stale = update_customer.sync_detailed(ada.id, client=client, body=CustomerInput(notes="lost update"), if_match=etag)
    problem = stale.parsed
    check(stale.status_code == 412 and isinstance(problem, Problem), "a stale If-Match is a 412 Problem", stale.content)
    check(problem.status == 412 and problem.type_ == "/problems/version-mismatch" and problem.detail, "the Problem is complete", problem)
    again = get_customer.sync_detailed(ada.id, client=client)
    check(again.parsed.notes == "Analytical engine", "the stale change was not applied", again.parsed.notes)

    for i in range(6):
        create_customer.sync_detailed(client=client, body=CustomerInput(name=f"Paged {i}", tags=["contract"]))
    names, cursor, pages = [], UNSET, 0
    while True:
        page = list_customers.sync_detailed(client=client, tag="contract", sort="name", limit=3, cursor=cursor)
        check(page.status_code == 200 and isinstance(page.parsed, PageCustomer), f"page {pages + 1} answers 200", page.content)
        check(all(isinstance(c, Customer) for c in page.parsed.data), f"page {pages + 1} holds Customers", page.parsed.data)
        names += [c.name for c in page.parsed.data]
        pages += 1
        if not page.parsed.next_cursor:
            break
        cursor = page.parsed.next_cursor
    expected = ["Ada Lovelace"] + [f"Paged {i}" for i in range(6)]
    check(pages == 3 and names == expected, "cursors page through everyone once, in order", (pages, names))
    bad = list_customers.sync_detailed(client=client, limit=3, cursor="not-a-cursor")
    check(isinstance(bad.parsed, Problem) and bad.parsed.status == 400, "a bad cursor is a 400 Problem", bad.content)


if __name__ == "__main__":
    main(*sys.argv[1:4])
