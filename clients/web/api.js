// The server's REST API as the page uses it (see docs/protocol.md): every call carries the
// bearer token; failures become ApiError with the server's status and error code.

const TOKEN_KEY = 'skriva.token';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

async function errorOf(response) {
  let code = 'http_' + response.status;
  let message = response.statusText || 'HTTP ' + response.status;
  try {
    const body = await response.json();
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || message;
    }
  } catch {
    // Not JSON: keep the status line.
  }
  return new ApiError(response.status, code, message);
}

export class Api {
  constructor(token) {
    this.token = token;
  }

  headers(extra = {}) {
    return { Authorization: 'Bearer ' + this.token, ...extra };
  }

  async request(method, path, { body, headers = {} } = {}) {
    const init = { method, headers: this.headers(headers), cache: 'no-store' };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers['Content-Type'] = 'application/json';
    }
    const response = await fetch(path, init);
    if (!response.ok) throw await errorOf(response);
    return response.status === 204 ? null : response.json();
  }

  me() {
    return this.request('GET', '/api/me');
  }

  templates() {
    return this.request('GET', '/api/templates');
  }

  createSession({ mode, patientRef, template }) {
    return this.request('POST', '/api/sessions', {
      body: { mode, patient_ref: patientRef, template },
    });
  }

  session(id) {
    return this.request('GET', '/api/sessions/' + encodeURIComponent(id));
  }

  drafts({ patientRef, limit = 200 } = {}) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (patientRef) query.set('patient_ref', patientRef);
    return this.request('GET', '/api/drafts?' + query);
  }

  draft(id) {
    return this.request('GET', '/api/drafts/' + encodeURIComponent(id));
  }

  saveDraft(id, version, sections) {
    return this.request('PATCH', '/api/drafts/' + encodeURIComponent(id), {
      body: { sections },
      headers: { 'If-Match': '"' + version + '"' },
    });
  }

  signDraft(id, version) {
    return this.request('POST', '/api/drafts/' + encodeURIComponent(id) + '/sign', {
      headers: { 'If-Match': '"' + version + '"' },
    });
  }

  /**
   * Uploads an audio file as multipart form data. `onProgress(fraction)` follows the upload;
   * XMLHttpRequest because fetch cannot report upload progress.
   */
  upload({ file, patientRef, template }, onProgress) {
    return new Promise((resolve, reject) => {
      const form = new FormData();
      form.append('patient_ref', patientRef);
      if (template) form.append('template', template);
      form.append('file', file, file.name);
      const xhr = new XMLHttpRequest();
      xhr.open('POST', '/api/transcriptions');
      xhr.setRequestHeader('Authorization', 'Bearer ' + this.token);
      xhr.responseType = 'json';
      xhr.upload.onprogress = (event) => {
        if (event.lengthComputable) onProgress(event.loaded / event.total);
      };
      xhr.upload.onload = () => onProgress(1);
      xhr.onload = () => {
        const body = xhr.response;
        if (xhr.status >= 200 && xhr.status < 300) {
          resolve(body);
        } else {
          const error = body && body.error ? body.error : {};
          reject(new ApiError(xhr.status, error.code || 'http_' + xhr.status,
            error.message || 'HTTP ' + xhr.status));
        }
      };
      xhr.onerror = () => reject(new ApiError(0, 'network', 'nätverksfel'));
      xhr.send(form);
    });
  }
}
