import { exchange } from '../../src/controller-client/http-exchange';

/** A browser: a cookie jar per origin, manual redirects, trusting the given CAs only. */
export class Browser {
  private jars = new Map<string, Map<string, string>>();
  constructor(private readonly ca: string) {}

  setCookie(url: string, name: string, value: string) {
    const origin = new URL(url).origin;
    if (!this.jars.has(origin)) this.jars.set(origin, new Map());
    this.jars.get(origin)!.set(name, value);
  }

  async open(url: string, form?: Record<string, string>) {
    const origin = new URL(url).origin;
    const jar = this.jars.get(origin) ?? new Map<string, string>();
    this.jars.set(origin, jar);
    const body = form ? new URLSearchParams(form).toString() : undefined;
    const res = await exchange(url, {
      method: form ? 'POST' : 'GET',
      headers: {
        cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body,
      ca: this.ca,
      timeoutMs: 30_000,
    });
    for (const line of res.headers['set-cookie'] ?? []) {
      const [pair, ...attributes] = line.split(';');
      const [name, value] = [pair!.slice(0, pair!.indexOf('=')), pair!.slice(pair!.indexOf('=') + 1)];
      const expired =
        value === '' || attributes.some((a) => /expires=Thu, 01 Jan 1970|max-age=0\b/i.test(a.trim()));
      if (expired) jar.delete(name);
      else jar.set(name, value);
    }
    const location = res.headers.location ? new URL(res.headers.location, url).href : undefined;
    return { ...res, location };
  }

  /** Follows redirects until `stop` says so (by default: leaving for Kasm), or a page is shown. */
  async follow(
    url: string,
    form?: Record<string, string>,
    stop = (location: string) => location.startsWith('https://kasm.internal'),
  ) {
    let page = await this.open(url, form);
    for (let hops = 0; page.location && !stop(page.location); hops++) {
      if (hops > 12) throw new Error('redirect loop');
      page = await this.open(page.location);
    }
    return page;
  }
}
