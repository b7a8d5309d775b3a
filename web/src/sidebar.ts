// The conversation list: grouped by day, the current one marked, rename in place, delete with a second click.

import { h, icon, setChildren } from './dom.js';
import { relativeDay } from './format.js';
import type { Store } from './store.js';

export interface SidebarHooks {
  open(id: string): void;
  changed(): void;
}

export class Sidebar {
  private armed: { id: string; timer: number } | null = null;

  constructor(
    private readonly list: HTMLElement,
    private readonly store: Store,
    private readonly hooks: SidebarHooks,
  ) {
    list.addEventListener('click', (ev) => this.click(ev));
  }

  render(busyId: string | null): void {
    const nodes: Node[] = [];
    let group = '';
    for (const c of this.store.conversations) {
      const g = relativeDay(c.updated);
      if (g !== group) {
        group = g;
        nodes.push(h('div', { class: 'conv-group' }, g));
      }
      const current = c.id === this.store.currentId;
      const armed = this.armed?.id === c.id;
      nodes.push(
        h(
          'div',
          { class: `conv${current ? ' current' : ''}${c.id === busyId ? ' busy' : ''}`, 'data-id': c.id },
          h('button', { type: 'button', class: 'conv-open', 'data-action': 'open', title: c.title, 'aria-current': current ? 'true' : false }, c.title),
          h(
            'span',
            { class: 'conv-actions' },
            h('button', { type: 'button', class: 'icon-btn small', 'data-action': 'rename', title: 'Rename', 'aria-label': 'Rename' }, icon('pencil')),
            h(
              'button',
              {
                type: 'button',
                class: `icon-btn small${armed ? ' armed' : ''}`,
                'data-action': 'delete',
                title: armed ? 'Click again to delete' : 'Delete',
                'aria-label': armed ? 'Confirm delete' : 'Delete',
              },
              icon('trash'),
            ),
          ),
        ),
      );
    }
    if (nodes.length === 0) nodes.push(h('div', { class: 'conv-empty' }, 'No conversations yet.'));
    setChildren(this.list, nodes);
  }

  private click(ev: MouseEvent): void {
    const button = (ev.target as HTMLElement).closest<HTMLElement>('[data-action]');
    const row = button?.closest<HTMLElement>('.conv');
    if (!button || !row) return;
    const id = row.dataset.id!;
    switch (button.dataset.action) {
      case 'open':
        this.hooks.open(id);
        break;
      case 'rename':
        this.startRename(row, id);
        break;
      case 'delete':
        if (this.armed?.id === id) {
          clearTimeout(this.armed.timer);
          this.armed = null;
          this.store.remove(id);
          this.hooks.changed();
        } else {
          if (this.armed) clearTimeout(this.armed.timer);
          this.armed = {
            id,
            timer: window.setTimeout(() => {
              this.armed = null;
              this.hooks.changed();
            }, 3000),
          };
          this.hooks.changed();
        }
        break;
    }
  }

  private startRename(row: HTMLElement, id: string): void {
    const c = this.store.conversations.find((x) => x.id === id);
    if (!c) return;
    const input = h('input', { type: 'text', class: 'conv-rename', 'aria-label': 'Conversation name', maxlength: '120' });
    input.value = c.title;
    let done = false;
    const finish = (save: boolean): void => {
      if (done) return;
      done = true;
      if (save) this.store.rename(id, input.value);
      this.hooks.changed();
    };
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') finish(true);
      else if (e.key === 'Escape') finish(false);
    });
    input.addEventListener('blur', () => finish(true));
    row.replaceChildren(input);
    input.focus();
    input.select();
  }
}
