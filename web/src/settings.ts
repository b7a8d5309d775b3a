// The settings panel and the composer's switches, bound to the stored settings: model, system prompt,
// sampling, thinking, demo tools, prices and (when the server asks for one) the API key.

import type { ModelInfo } from './api.js';
import { h, setChildren } from './dom.js';
import type { Store } from './store.js';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

function isJsonObject(text: string): boolean {
  try {
    const v = JSON.parse(text) as unknown;
    return !!v && typeof v === 'object' && !Array.isArray(v);
  } catch {
    return false;
  }
}

export class Settings {
  private readonly panel = $<HTMLElement>('settings');
  private readonly toggle = $<HTMLButtonElement>('toggle-settings');
  private readonly model = $<HTMLSelectElement>('model');

  constructor(
    private readonly store: Store,
    private readonly models: () => readonly ModelInfo[],
    private readonly hooks: { keySaved(): void },
  ) {}

  bind(): void {
    const s = this.store.settings;
    const save = (): void => this.store.saveSettings();

    this.toggle.addEventListener('click', () => this.show(this.panel.hidden));
    $('close-settings').addEventListener('click', () => this.show(false));

    const system = $<HTMLTextAreaElement>('system');
    system.value = s.system;
    system.addEventListener('input', () => {
      s.system = system.value;
      save();
    });

    const numeric = (id: string, get: () => number | null, set: (v: number | null) => void): void => {
      const input = $<HTMLInputElement>(id);
      const v = get();
      input.value = v === null ? '' : String(v);
      input.addEventListener('input', () => {
        const n = input.value.trim() === '' ? null : Number(input.value);
        if (n !== null && !Number.isFinite(n)) return;
        set(n);
        save();
      });
    };
    numeric(
      'temperature',
      () => s.temperature,
      (v) => {
        s.temperature = v;
      },
    );
    numeric(
      'top-p',
      () => s.topP,
      (v) => {
        s.topP = v;
      },
    );
    numeric(
      'max-tokens',
      () => s.maxTokens,
      (v) => {
        s.maxTokens = v === null ? null : Math.max(1, Math.round(v));
      },
    );
    numeric(
      'price-input',
      () => s.price.input,
      (v) => {
        s.price.input = v ?? 0;
      },
    );
    numeric(
      'price-cached',
      () => s.price.cachedInput,
      (v) => {
        s.price.cachedInput = v ?? 0;
      },
    );
    numeric(
      'price-output',
      () => s.price.output,
      (v) => {
        s.price.output = v ?? 0;
      },
    );

    const extra = $<HTMLTextAreaElement>('extra-body');
    extra.value = s.extraBody;
    const checkExtra = (): void => {
      extra.classList.toggle('invalid', extra.value.trim() !== '' && !isJsonObject(extra.value));
    };
    checkExtra();
    extra.addEventListener('input', () => {
      s.extraBody = extra.value;
      checkExtra();
      save();
    });

    const check = (id: string, get: () => boolean, set: (v: boolean) => void): void => {
      const input = $<HTMLInputElement>(id);
      input.checked = get();
      input.addEventListener('change', () => {
        set(input.checked);
        save();
      });
    };
    check(
      'thinking-toggle',
      () => s.thinking,
      (v) => {
        s.thinking = v;
      },
    );
    check(
      'tools-toggle',
      () => s.tools,
      (v) => {
        s.tools = v;
      },
    );

    this.model.addEventListener('change', () => {
      s.model = this.model.value;
      save();
      this.showPrice();
    });

    const key = $<HTMLInputElement>('api-key');
    key.value = this.store.apiKey;
    $('key-section').hidden = this.store.apiKey === '';
    $('api-key-save').addEventListener('click', () => this.saveKey(key.value));
    $('api-key-forget').addEventListener('click', () => {
      key.value = '';
      this.saveKey('');
    });
    const bannerInput = $<HTMLInputElement>('key-banner-input');
    const useBanner = (): void => {
      if (bannerInput.value.trim()) this.saveKey(bannerInput.value);
    };
    $('key-banner-save').addEventListener('click', useBanner);
    bannerInput.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        e.preventDefault();
        useBanner();
      }
    });
  }

  show(open: boolean): void {
    this.panel.hidden = !open;
    document.getElementById('app')!.classList.toggle('settings-open', open);
    this.toggle.setAttribute('aria-expanded', String(open));
  }

  setModels(list: readonly ModelInfo[]): void {
    const s = this.store.settings;
    setChildren(
      this.model,
      list.map((m) => h('option', { value: m.id }, m.id)),
    );
    if (!list.some((m) => m.id === s.model)) {
      s.model = list[0]?.id ?? '';
      this.store.saveSettings();
    }
    this.model.value = s.model;
    this.showPrice();
  }

  /** The server's price for the model (read-only) or the editable fallback. */
  private showPrice(): void {
    const p = this.models().find((m) => m.id === this.store.settings.model)?.price;
    const inputs = ['price-input', 'price-cached', 'price-output'].map((id) => $<HTMLInputElement>(id));
    const values = p
      ? [p.input, p.cachedInput, p.output]
      : [this.store.settings.price.input, this.store.settings.price.cachedInput, this.store.settings.price.output];
    inputs.forEach((input, i) => {
      input.value = String(values[i]);
      input.readOnly = !!p;
    });
    $('price-source').textContent = p ? '(from the server)' : '(GLM-5 list prices unless you change them)';
  }

  /** A 401: show the key field above the composer and in the panel. */
  askForKey(message: string): void {
    $('key-section').hidden = false;
    const banner = $('key-banner');
    banner.hidden = false;
    $('key-banner-text').textContent = this.store.apiKey ? `The key was refused: ${message}` : 'This server needs an API key.';
    $<HTMLInputElement>('key-banner-input').focus();
  }

  private saveKey(value: string): void {
    this.store.setApiKey(value);
    $<HTMLInputElement>('api-key').value = this.store.apiKey;
    $<HTMLInputElement>('key-banner-input').value = '';
    $('key-banner').hidden = true;
    $('key-section').hidden = this.store.apiKey === '';
    this.hooks.keySaved();
  }
}
