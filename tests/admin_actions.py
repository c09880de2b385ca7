"""Running an admin action the way staff do: select rows, see the confirmation page, type a reason."""

from django.test import Client


def run_admin_action(client: Client, changelist: str, action: str, pks, reason: str = "motivo do teste", **extra):
    """POSTs the action, checks that it asks for confirmation, then confirms it with `reason`.

    Returns the final response (followed to the changelist). Extra keyword arguments go to both POSTs
    (e.g. HTTP_USER_AGENT).
    """
    selection = {"action": action, "_selected_action": [str(pk) for pk in pks]}
    asked = client.post(changelist, {**selection, "index": 0}, **extra)
    assert asked.status_code == 200, asked.status_code
    assert 'name="confirm"' in asked.content.decode(), "the action did not ask for confirmation"
    return client.post(changelist, {**selection, "confirm": "1", "reason": reason}, follow=True, **extra)
