// GET a JSON document from the API: { status, body } (status 0 when offline, body null if not JSON).

export async function getJson(url) {
  try {
    const r = await fetch(url, { cache: 'no-store', credentials: 'same-origin' });
    let body = null;
    try { body = await r.json(); } catch { /* not JSON */ }
    return { status: r.status, body };
  } catch {
    return { status: 0, body: null };
  }
}
