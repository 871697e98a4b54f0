/** The provider's HTML pages: plain, self-contained (no outside fonts or scripts: the network is private). */
const htmlText = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${htmlText(title)}</title><meta name="viewport" content="width=device-width, initial-scale=1"></head><body style="font-family:sans-serif;max-width:22em;margin:3em auto"><h1 style="font-weight:300">${htmlText(title)}</h1>${body}</body></html>`;
}

function signInPage(action: string, client: string, fields: string, problem?: string): string {
  return page(
    'Sign in to Waveshift',
    `<p>to continue to ${htmlText(client)}</p>${problem ? `<p role="alert" style="color:#b00">${htmlText(problem)}</p>` : ''}<form method="post" action="${htmlText(action)}" autocomplete="off">${fields}<p><button type="submit">Sign in</button></p></form>`,
  );
}

export function loginPage(action: string, client: string, problem?: string): string {
  return signInPage(
    action,
    client,
    '<p><label>User name<br><input name="username" required autofocus></label></p><p><label>Password<br><input name="password" type="password" required></label></p>',
    problem,
  );
}

/** The second step for a user with TOTP: shown only once their password was right. */
export function codePage(action: string, client: string, problem?: string): string {
  return signInPage(
    action,
    client,
    '<p><label>Code from your authenticator app<br><input name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" maxlength="7" required autofocus></label></p>',
    problem,
  );
}

/** oidc-provider's logout confirmation: `form` is its own hidden form, submitted by the button. */
export function logoutPage(form: string): string {
  return page(
    'Sign out of Waveshift',
    `${form}<p><button form="op.logoutForm" name="logout" value="yes">Sign out</button> <button form="op.logoutForm">Stay signed in</button></p>`,
  );
}

export function loggedOutPage(): string {
  return page('Signed out', '<p>You are signed out of Waveshift.</p>');
}

export function errorPage(error: string, description?: string): string {
  return page(
    'Sign-in failed',
    `<p>${htmlText(error)}${description ? `: ${htmlText(description)}` : ''}</p>`,
  );
}
