from django import forms

from chat.models import Room


class MessageForm(forms.Form):
    # Length and content are checked by the service, so the page shows the same errors as the
    # socket and the API.
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Write a message"}),
        required=False,
        strip=False,
    )
    client_id = forms.CharField(required=False, widget=forms.HiddenInput)


class RoomForm(forms.Form):
    name = forms.CharField(max_length=80)
    visibility = forms.ChoiceField(
        choices=[
            (Room.Visibility.PUBLIC, "Public"),
            (Room.Visibility.INVITE, "Invite-only"),
        ]
    )
