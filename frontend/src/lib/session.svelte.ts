// Who is logged in, and the one Chat (socket) for the app's lifetime while they are.

import type { Person } from "@parley/client";
import { api } from "./api";
import { Chat } from "./chat.svelte";

export const session = $state<{ user: Person | null; chat: Chat | null; checked: boolean }>({
  user: null,
  chat: null,
  checked: false,
});

/** Asks the server who this browser is (and gets the CSRF cookie); null when nobody. */
export async function whoAmI(): Promise<Person | null> {
  try {
    session.user = await api<Person>("session");
  } catch {
    session.user = null;
  }
  session.checked = true;
  return session.user;
}

export async function logIn(username: string, password: string): Promise<void> {
  session.user = await api<Person>("session", { method: "POST", body: { username, password } });
}

export async function logOut(): Promise<void> {
  session.chat?.stop();
  session.chat = null;
  await api("session", { method: "DELETE" }).catch(() => {});
  session.user = null;
}

export function chat(): Chat {
  if (!session.chat) {
    session.chat = new Chat();
    void session.chat.start();
  }
  return session.chat;
}
