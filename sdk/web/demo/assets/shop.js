// shop.js: the Brewhaus demo shop. Every upsell and cross-sell on these
// pages is rendered from the payload of the variant upshotd picked for the
// visitor; when upshotd cannot answer, the shop shows its default offer
// (the control) and carries on.
//
// Experiments (sdk/web/demo/upshotd.demo.json):
//   offer-placement  where the starter set is offered: product page, cart,
//                    checkout pop-up or thank-you page
//   offer-wording    how the Kettle Pro upgrade is worded (product page)
//   checkout-tiers   one care plan, or basic / standard / premium (cart)
//   urgency          countdown or stock notice on the beans add-on (cart)
//   offer-strategy   factorial: the starter set placed in the cart or the
//                    checkout pop-up, worded plainly or by its benefit, as
//                    one set or three sizes, with or without a countdown;
//                    it shares the starter-set slot with offer-placement
//                    (layer offer-slot: a visitor is in one of the two)

import { createUpshot } from '/sdk/index.js'
import { T, PRICES, REGIONS } from './i18n.js'

const meta = (n) => (document.querySelector(`meta[name="${n}"]`) || {}).content
const page = document.body.dataset.page
const store = {
  get (k, d) {
    try { const v = JSON.parse(localStorage.getItem('shop:' + k)); return v == null ? d : v } catch (e) { return d }
  },
  set (k, v) {
    try { localStorage.setItem('shop:' + k, JSON.stringify(v)) } catch (e) { /* private mode */ }
  }
}

// The region: ?region= wins and is remembered; the default is Greece.
const qs = new URLSearchParams(location.search)
let region = qs.get('region') || store.get('region', 'gr')
if (!REGIONS.includes(region)) region = 'gr'
store.set('region', region)
const L = T[region]
document.documentElement.lang = L.lang
document.documentElement.dir = L.dir
document.documentElement.dataset.region = region

const money = (n) => new Intl.NumberFormat(L.locale, { style: 'currency', currency: L.currency, maximumFractionDigits: Number.isInteger(n) ? 0 : 2 }).format(n)
const price = (id) => PRICES[region][id]
const fill = (s, o) => s.replace(/\{(\w+)\}/g, (m, k) => o[k])

// What the page shows when upshotd does not answer: the control offers.
const DEFAULTS = {
  'offer-placement': { variant: 'cart', payload: { offer: 'starter-set', placement: 'cart_page' } },
  'offer-wording': { variant: 'features', payload: { offer: 'kettle-pro', style: 'features' } },
  'checkout-tiers': { variant: 'single', payload: { offer: 'care-plan', layout: 'single', tiers: ['care-2'] } },
  urgency: { variant: 'none', payload: { offer: 'beans', discount: 0.15, minutes: 15, urgency: 'none' } },
  'offer-strategy': {
    variant: 'cart-plain-one-none',
    payload: { offer: 'starter-set', placement: 'cart_page', wording: 'plain', layout: 'single', tiers: ['starter-set'], urgency: 'none', discount: 0.1, minutes: 15 }
  }
}
const PAGE_EXPERIMENTS = {
  product: ['offer-placement', 'offer-wording'],
  cart: ['offer-placement', 'checkout-tiers', 'urgency', 'offer-strategy'],
  checkout: ['offer-placement', 'offer-strategy'],
  thanks: ['offer-placement']
}

const errors = []
// checkout-wording, a bandit over six wordings of the descaler add-on on
// the checkout page (checkoutAddon below); kept apart from the tables
// above so each experiment's lines stay its own.
DEFAULTS['checkout-wording'] = { variant: 'plain', payload: { offer: 'descaler', wording: 'plain' } }
PAGE_EXPERIMENTS.checkout.push('checkout-wording')
const up = createUpshot({
  server: meta('upshot-server'),
  key: meta('upshot-key'),
  region,
  defaults: DEFAULTS,
  timeout: 1500,
  onError: (e) => { errors.push(e.message); renderPanel() }
})
window.upshot = up // for the browser tests and the curious

// h('div', {class: 'x', onclick: f}, child, ...): a DOM element. Text is
// always set as text, never parsed as HTML.
function h (tag, attrs, ...children) {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v)
    else if (k === 'class') el.className = v
    else el.setAttribute(k, v === true ? '' : v)
  }
  for (const c of children.flat()) if (c != null && c !== false) el.append(c.nodeType ? c : String(c))
  return el
}

// The cart: [{id, qty, price?}] in localStorage; price overrides the list
// price (a discounted add-on).
const cart = {
  items: () => store.get('cart', []),
  save (items) { store.set('cart', items); renderHeader() },
  add (id, p) {
    const items = cart.items()
    const it = items.find((i) => i.id === id)
    if (it) it.qty++
    else items.push({ id, qty: 1, price: p })
    cart.save(items)
  },
  has: (id) => cart.items().some((i) => i.id === id),
  remove (id) { cart.save(cart.items().filter((i) => i.id !== id)) },
  total: () => cart.items().reduce((s, i) => s + i.qty * (i.price != null ? i.price : price(i.id)), 0)
}

// An offer that was declined is not shown again to this visitor.
const dismissed = (exp) => store.get('dismissed', {})[exp]
function dismiss (exp) {
  const d = store.get('dismissed', {})
  d[exp] = true
  store.set('dismissed', d)
}

const PICTURES = {
  kettle: ['#2f5d50', '#e9c46a'],
  'kettle-pro': ['#1d3557', '#e76f51'],
  'starter-set': ['#6d4c41', '#f4a261'],
  dripper: ['#6d4c41', '#f4a261'],
  'brew-kit': ['#6d4c41', '#f4a261'],
  beans: ['#3e2723', '#c8a27a'],
  'care-1': ['#457b9d', '#a8dadc'],
  'care-2': ['#457b9d', '#a8dadc'],
  'care-3': ['#457b9d', '#a8dadc']
}
// A product picture drawn in SVG: the shop needs no image files.
function picture (id, size) {
  const [a, b] = PICTURES[id] || PICTURES.kettle
  const ns = 'http://www.w3.org/2000/svg'
  const svg = document.createElementNS(ns, 'svg')
  svg.setAttribute('viewBox', '0 0 120 120')
  svg.setAttribute('class', 'pic ' + (size || ''))
  svg.setAttribute('aria-hidden', 'true')
  const shapes = {
    kettle: `<rect width="120" height="120" rx="18" fill="${b}" opacity=".35"/><path d="M34 52h52l-6 42H40z" fill="${a}"/><path d="M86 60c12-2 18 6 22-10" stroke="${a}" stroke-width="5" fill="none" stroke-linecap="round"/><path d="M40 52c0-14 40-14 40 0" fill="${a}"/><path d="M34 66c-10 0-12 18 0 18" stroke="${a}" stroke-width="5" fill="none"/><rect x="52" y="34" width="16" height="6" rx="3" fill="${a}"/>`,
    beans: `<rect width="120" height="120" rx="18" fill="${b}" opacity=".35"/><path d="M36 30h48l6 70H30z" fill="${a}"/><rect x="44" y="56" width="32" height="22" rx="4" fill="${b}"/><ellipse cx="60" cy="67" rx="7" ry="10" fill="${a}"/><path d="M60 58c-3 6 3 12 0 18" stroke="${b}" stroke-width="2" fill="none"/>`,
    'starter-set': `<rect width="120" height="120" rx="18" fill="${b}" opacity=".35"/><path d="M30 40h60l-18 34H48z" fill="${a}"/><rect x="50" y="74" width="20" height="8" fill="${a}"/><rect x="40" y="84" width="40" height="16" rx="4" fill="${a}" opacity=".7"/><path d="M82 30l14 8-14 8z" fill="${b}"/>`,
    care: `<rect width="120" height="120" rx="18" fill="${b}" opacity=".45"/><path d="M60 24l32 12v22c0 20-14 34-32 40-18-6-32-20-32-40V36z" fill="${a}"/><path d="M46 60l10 10 18-20" stroke="#fff" stroke-width="6" fill="none" stroke-linecap="round" stroke-linejoin="round"/>`
  }
  svg.innerHTML = shapes[id] || (id.startsWith('care') ? shapes.care : PICTURES[id] === PICTURES['starter-set'] ? shapes['starter-set'] : shapes.kettle.replace(/#2f5d50/g, a))
  return svg
}

// The card every offer uses: picture, texts, price, an accept button and a
// "no thanks" that records a decline.
function offerCard (exp, a, { id, head, body, extra, cta, onAccept, cls }) {
  const card = h('section', {
    class: 'offer ' + (cls || ''),
    'data-experiment': exp,
    'data-variant': a.variant,
    'data-reason': a.reason,
    'aria-label': head
  })
  const accepted = cart.has(id)
  const accept = h('button', { class: 'btn primary', type: 'button', disabled: accepted, 'data-action': 'accept' }, accepted ? L.inCart : cta || L.add)
  accept.addEventListener('click', () => {
    onAccept()
    accept.textContent = L.inCart
    accept.disabled = true
  })
  const no = h('button', { class: 'btn link', type: 'button', 'data-action': 'decline' }, L.noThanks)
  no.addEventListener('click', () => {
    up.decline(exp)
    dismiss(exp)
    card.replaceChildren(h('p', { class: 'declined', role: 'status' }, L.declined))
    card.classList.add('is-declined')
  })
  card.append(
    picture(id, 'small'),
    h('div', { class: 'offer-main' },
      h('h3', { class: 'offer-head' }, head),
      body && h('p', { class: 'offer-body' }, body),
      extra || null,
      h('div', { class: 'offer-actions' }, accept, accepted ? null : no))
  )
  return card
}

// The starter-set cross-sell, wherever the placement experiment puts it.
function starterOffer (a, opts = {}) {
  const p = price('starter-set')
  return offerCard('offer-placement', a, {
    id: 'starter-set',
    head: opts.head || L.starterHead,
    body: (opts.body || L.starterBody),
    extra: h('p', { class: 'offer-price' }, L.products['starter-set'] + ' · ', h('strong', {}, money(p))),
    cta: opts.cta,
    onAccept: opts.onAccept || (() => cart.add('starter-set'))
  })
}

// A payload text: the region's, else the English-free fallback of the shop.
const said = (payload, field, fallback) => (payload[field] && payload[field][region]) || fallback

function wordingOffer (a) {
  const pl = a.payload
  const proPrice = price('kettle-pro')
  const extra = [h('p', { class: 'offer-price' }, L.products['kettle-pro'] + ' · ', h('strong', {}, money(proPrice)),
    h('span', { class: 'muted' }, ' (+' + money(proPrice - price('kettle')) + ')'))]
  if (pl.style === 'social_proof' && pl.rating) {
    extra.unshift(h('p', { class: 'stars', 'aria-label': fill(L.reviews, { r: pl.rating, n: pl.reviews }) },
      h('span', { class: 'star-row', 'aria-hidden': 'true' }, '★★★★★'), ' ',
      fill(L.reviews, { r: new Intl.NumberFormat(L.locale).format(pl.rating), n: new Intl.NumberFormat(L.locale).format(pl.reviews) })))
  }
  return offerCard('offer-wording', a, {
    id: 'kettle-pro',
    cls: 'upsell style-' + (pl.style || 'features'),
    head: said(pl, 'headline', L.products['kettle-pro']),
    body: said(pl, 'body', ''),
    extra,
    cta: said(pl, 'cta', L.add),
    onAccept: () => {
      // The upgrade replaces the kettle in the cart.
      cart.save(cart.items().filter((i) => i.id !== 'kettle'))
      cart.add('kettle-pro')
    }
  })
}

function tiersOffer (a) {
  const pl = a.payload
  const tiers = (pl.tiers && pl.tiers.length ? pl.tiers : ['care-2']).filter((t) => price(t) != null)
  if (pl.layout !== 'three' || tiers.length < 2) {
    return offerCard('checkout-tiers', a, {
      id: tiers[0],
      head: L.careHead,
      body: L.careSingle,
      extra: h('p', { class: 'offer-price' }, L.products[tiers[0]] + ' · ', h('strong', {}, money(price(tiers[0])))),
      onAccept: () => cart.add(tiers[0])
    })
  }
  const choose = (id) => {
    for (const t of tiers) cart.remove(t)
    cart.add(id)
    grid.querySelectorAll('.tier').forEach((el) => el.classList.toggle('chosen', el.dataset.tier === id))
  }
  const grid = h('div', { class: 'tiers', role: 'list' }, tiers.map((id) => {
    const [name, what] = L.tiers[id]
    const top = id === pl.highlight
    return h('div', { class: 'tier' + (top ? ' highlight' : '') + (cart.has(id) ? ' chosen' : ''), role: 'listitem', 'data-tier': id },
      top ? h('span', { class: 'badge' }, L.popular) : null,
      h('h4', {}, name),
      h('p', { class: 'tier-price' }, money(price(id))),
      h('p', { class: 'tier-what' }, what),
      h('button', { class: 'btn ' + (top ? 'primary' : 'ghost'), type: 'button', onclick: () => choose(id), 'data-action': 'choose' }, L.choose))
  }))
  const card = offerCard('checkout-tiers', a, {
    id: 'care-2',
    cls: 'three',
    head: L.careHead,
    body: null,
    extra: grid,
    onAccept: () => choose(pl.highlight || tiers[1])
  })
  // Three choices replace the single accept button.
  card.querySelector('[data-action="accept"]').remove()
  return card
}

function urgencyOffer (a) {
  const pl = a.payload
  const full = price('beans')
  // The discount really ends at the deadline in every variant; the
  // variants differ only in whether the page says so.
  const minutes = pl.minutes || 15
  let deadline = store.get('beansDeadline', 0)
  if (!deadline) {
    deadline = Date.now() + minutes * 60000
    store.set('beansDeadline', deadline)
  }
  const live = () => Date.now() < deadline
  const deal = Math.round(full * (1 - (pl.discount || 0)) * 100) / 100
  const priceEl = h('p', { class: 'offer-price' })
  const note = h('p', { class: 'urgency', 'data-urgency': pl.urgency || 'none', 'aria-live': 'polite' })
  const paint = () => {
    if (live()) {
      priceEl.replaceChildren(L.products.beans + ' · ', h('strong', {}, money(deal)), ' ', h('s', { class: 'muted' }, money(full)))
      if (pl.urgency === 'countdown') {
        const s = Math.max(0, Math.ceil((deadline - Date.now()) / 1000))
        note.replaceChildren(h('span', { class: 'clock', 'aria-hidden': 'true' }, '⏱'), ' ' + L.endsIn + ' ',
          h('strong', { class: 'countdown', dir: 'ltr' }, String(Math.floor(s / 60)).padStart(2, '0') + ':' + String(s % 60).padStart(2, '0')))
      } else if (pl.urgency === 'low_stock') {
        note.replaceChildren(h('span', { class: 'dot', 'aria-hidden': 'true' }), ' ' + fill(L.left, { n: new Intl.NumberFormat(L.locale).format(pl.left || 3) }))
      } else {
        note.replaceChildren()
      }
    } else {
      priceEl.replaceChildren(L.products.beans + ' · ', h('strong', {}, money(full)))
      note.replaceChildren(pl.urgency === 'none' ? '' : L.ended)
    }
  }
  paint()
  const timer = setInterval(() => { paint(); if (!live()) clearInterval(timer) }, 1000)
  return offerCard('urgency', a, {
    id: 'beans',
    head: L.beansHead,
    body: L.beansBody,
    extra: [priceEl, note],
    onAccept: () => cart.add('beans', live() ? deal : full)
  })
}

// The starter-set slot (cart page, checkout pop-up) is shared by
// offer-placement and offer-strategy through the layer offer-slot: a
// visitor the layer gives to offer-strategy is out of offer-placement
// (reason "layer", its control payload) and the other way round. The slot
// shows offer-strategy's cell when the visitor is in that experiment, else
// offer-placement's variant as before (also when upshotd is down). A QA
// visitor forced into offer-placement keeps seeing it.
const IN = ['assigned', 'sticky', 'sticky_unverified', 'promoted', 'forced']
function slotOwner (as) {
  const s = as['offer-strategy']
  if (!s || !IN.includes(s.reason)) return 'offer-placement'
  const p = as['offer-placement']
  if (p && p.reason === 'forced' && s.reason !== 'forced') return 'offer-placement'
  return 'offer-strategy'
}

const KIT = ['dripper', 'starter-set', 'brew-kit']

// offer-strategy's starter set, as its cell's merged payload says: the
// wording's copy for this region, one set or three sizes (the middle one
// highlighted), and the deadline shown as a countdown or not. The 10% off
// for 15 minutes is real in every cell (it ends at the deadline whether the
// page says so or not); where the card goes is the caller's part.
// opts.popup: the checkout pop-up's texts, and opts.done after a choice.
function strategyOffer (a, opts = {}) {
  const pl = a.payload
  const minutes = pl.minutes || 15
  let deadline = store.get('kitDeadline', 0)
  if (!deadline) {
    deadline = Date.now() + minutes * 60000
    store.set('kitDeadline', deadline)
  }
  const live = () => Date.now() < deadline
  const deal = (id) => live() ? Math.round(price(id) * (1 - (pl.discount || 0)) * 100) / 100 : price(id)
  const listed = (pl.tiers || []).filter((t) => KIT.includes(t) && price(t) != null)
  const three = pl.layout === 'three' && listed.length === 3
  const tiers = three ? listed : ['starter-set']
  const prices = [] // [element, product]: repainted when the deal ends
  const priceOf = (id, el) => { prices.push([el, id]); return el }
  const note = h('p', { class: 'urgency', 'data-urgency': pl.urgency || 'none', 'aria-live': 'polite' })
  const paint = () => {
    for (const [el, id] of prices) {
      el.replaceChildren(h('strong', {}, money(deal(id))), live() && pl.discount ? h('s', { class: 'muted' }, money(price(id))) : '')
    }
    if (pl.urgency === 'timer' && live()) {
      const s = Math.max(0, Math.ceil((deadline - Date.now()) / 1000))
      note.replaceChildren(h('span', { class: 'clock', 'aria-hidden': 'true' }, '⏱'), ' ' + L.endsIn + ' ',
        h('strong', { class: 'countdown', dir: 'ltr' }, String(Math.floor(s / 60)).padStart(2, '0') + ':' + String(s % 60).padStart(2, '0')))
    } else {
      note.replaceChildren(pl.urgency === 'timer' ? L.ended : '')
    }
  }
  const choose = (id) => {
    for (const t of KIT) cart.remove(t)
    cart.add(id, deal(id))
    card.querySelectorAll('.tier').forEach((el) => el.classList.toggle('chosen', el.dataset.tier === id))
    if (opts.done) opts.done()
  }
  let extra
  if (three) {
    extra = h('div', { class: 'tiers', role: 'list' }, tiers.map((id) => {
      const [name, what] = L.kitTiers[id]
      const top = id === pl.highlight
      return h('div', { class: 'tier' + (top ? ' highlight' : ''), role: 'listitem', 'data-tier': id },
        top ? h('span', { class: 'badge' }, L.popular) : null,
        h('h4', {}, name),
        priceOf(id, h('p', { class: 'tier-price' })),
        h('p', { class: 'tier-what' }, what),
        h('button', { class: 'btn ' + (top ? 'primary' : 'ghost'), type: 'button', onclick: () => choose(id), 'data-action': 'choose' }, L.choose))
    }))
  } else {
    extra = h('p', { class: 'offer-price' }, L.products['starter-set'] + ' · ', priceOf('starter-set', h('span', { class: 'deal' })))
  }
  const card = offerCard('offer-strategy', a, {
    id: 'starter-set',
    cls: 'kit wording-' + (pl.wording || 'plain') + (three ? ' three' : ''),
    head: said(pl, 'headline', L.starterHead),
    body: said(pl, 'body', L.starterBody),
    extra: [extra, note],
    cta: opts.popup ? L.popupAdd : null,
    onAccept: () => choose('starter-set')
  })
  card.dataset.placement = pl.placement || 'cart_page'
  card.dataset.wording = pl.wording || 'plain'
  card.dataset.layout = three ? 'three' : 'single'
  card.dataset.urgency = pl.urgency || 'none'
  // Three choices replace the single accept button.
  if (three) card.querySelector('[data-action="accept"]').remove()
  paint()
  const timer = setInterval(() => { paint(); if (!live()) clearInterval(timer) }, 1000)
  return card
}

function renderHeader () {
  const n = cart.items().reduce((s, i) => s + i.qty, 0)
  const select = h('select', { id: 'region', 'aria-label': L.region },
    REGIONS.map((r) => h('option', { value: r, selected: r === region }, T[r].regionName)))
  select.addEventListener('change', () => {
    const u = new URL(location.href)
    u.searchParams.set('region', select.value)
    location.href = u.toString()
  })
  document.getElementById('header').replaceChildren(
    h('a', { class: 'brand', href: '/' }, h('span', { class: 'logo', 'aria-hidden': 'true' }, '◐'), 'Brewhaus'),
    h('span', { class: 'tagline' }, L.tagline),
    h('nav', {},
      h('a', { href: '/' }, L.navShop),
      h('a', { href: '/cart', class: 'cart-link' }, L.navCart, h('span', { class: 'count', 'data-count': n }, String(n))),
      h('label', { class: 'region' }, select))
  )
}

const main = () => document.getElementById('main')
const visible = (a, exp) => !dismissed(exp) && a

async function productPage (as) {
  const a = as['offer-placement']
  const add = h('button', { class: 'btn primary big', type: 'button', id: 'add-to-cart' }, L.addToCart)
  add.addEventListener('click', () => {
    cart.add('kettle')
    location.href = '/cart'
  })
  const offers = h('div', { class: 'offers' })
  main().replaceChildren(h('div', { class: 'product' },
    h('div', { class: 'gallery' }, picture('kettle', 'large')),
    h('div', { class: 'details' },
      h('p', { class: 'stock' }, h('span', { class: 'dot green', 'aria-hidden': 'true' }), L.inStock),
      h('h1', {}, L.products.kettle),
      h('p', { class: 'price' }, money(price('kettle'))),
      h('p', { class: 'lead' }, L.productLead),
      add,
      h('ul', { class: 'points' }, L.points.map((p) => h('li', {}, p))),
      offers)))
  const w = as['offer-wording']
  if (visible(w, 'offer-wording')) {
    const card = wordingOffer(w)
    offers.append(card)
    up.exposeOnView(card, w, { cartValue: cart.total() })
  }
  if (a.payload.placement === 'product_page' && visible(a, 'offer-placement') && !cart.has('starter-set')) {
    offers.append(starterOffer(a))
  }
  // The placement experiment is decided here, on the first page of the
  // funnel, for every variant: exposing only where the offer shows would
  // count thank-you visitors only once they had bought.
  up.expose(a, { cartValue: cart.total() }) // the cart before the offer: the CUPED covariate
}

function lines (items, editable) {
  return h('ul', { class: 'lines' }, items.map((i) => {
    const p = i.price != null ? i.price : price(i.id)
    return h('li', { class: 'line', 'data-item': i.id },
      picture(i.id, 'tiny'),
      h('span', { class: 'line-name' }, L.products[i.id], i.qty > 1 ? ' × ' + i.qty : ''),
      h('span', { class: 'line-price' }, money(p * i.qty)),
      editable ? h('button', { class: 'btn link small', type: 'button', onclick: () => { cart.remove(i.id); location.reload() } }, L.remove) : null)
  }))
}

function totals () {
  return h('dl', { class: 'totals' },
    h('dt', {}, L.subtotal), h('dd', {}, money(cart.total())),
    h('dt', {}, L.shipping), h('dd', {}, L.free),
    h('dt', { class: 'grand' }, L.total), h('dd', { class: 'grand', id: 'total' }, money(cart.total())))
}

async function cartPage (as) {
  const items = cart.items()
  if (!items.length) {
    main().replaceChildren(h('div', { class: 'empty' }, h('h1', {}, L.cartTitle), h('p', {}, L.cartEmpty), h('a', { class: 'btn primary', href: '/' }, L.backToShop)))
    return
  }
  const offers = h('div', { class: 'offers', 'data-slot': 'cart_page' })
  main().replaceChildren(h('div', { class: 'cart' },
    h('div', { class: 'cart-items' }, h('h1', {}, L.cartTitle), lines(items, true), offers),
    h('aside', { class: 'summary' }, totals(), h('a', { class: 'btn primary big', href: '/checkout', id: 'to-checkout' }, L.toCheckout),
      h('a', { class: 'btn link', href: '/' }, L.backToShop))))
  const t = as['checkout-tiers']
  if (visible(t, 'checkout-tiers')) {
    const card = tiersOffer(t)
    offers.append(card)
    up.exposeOnView(card, t, { cartValue: cart.total() })
  }
  const u = as.urgency
  if (visible(u, 'urgency')) {
    const card = urgencyOffer(u)
    offers.append(card)
    up.exposeOnView(card, u, { cartValue: cart.total() })
  }
  const a = as['offer-placement']
  if (slotOwner(as) === 'offer-strategy') {
    const s = as['offer-strategy']
    if (s.payload.placement === 'cart_page' && visible(s, 'offer-strategy') && !KIT.some(cart.has)) {
      offers.prepend(strategyOffer(s))
    }
    // Decided here for every cell, as offer-placement is on the product
    // page: the cart is the first page where the slot can show.
    up.expose(s, { cartValue: cart.total() })
    return
  }
  if (a.payload.placement === 'cart_page' && visible(a, 'offer-placement') && !cart.has('starter-set')) {
    offers.prepend(starterOffer(a))
  }
  up.expose(a, { cartValue: cart.total() }) // the cart before the offer: the CUPED covariate
}

function newOrderId () {
  const b = crypto.getRandomValues(new Uint8Array(5))
  return 'BH-' + Array.from(b, (x) => x.toString(36).padStart(2, '0')).join('').toUpperCase()
}

async function checkoutPage (as) {
  const items = cart.items()
  if (!items.length) { location.href = '/cart'; return }
  const a = as['offer-placement']
  const field = (id, label, value, type) => h('label', { class: 'field' }, h('span', {}, label), h('input', { id, name: id, value, type: type || 'text', required: true }))
  const form = h('form', { class: 'checkout-form', id: 'checkout' },
    h('h1', {}, L.checkoutTitle), h('h2', {}, L.contact),
    field('name', L.name, 'Alex Demo'), field('email', L.email, 'alex@example.com', 'email'),
    field('address', L.address, '1 Demo Street'), field('city', L.city, 'Demo City'),
    h('p', { class: 'payment' }, L.payment),
    h('button', { class: 'btn primary big', type: 'submit', id: 'place-order' }, L.placeOrder))
  main().replaceChildren(h('div', { class: 'cart' }, form, h('aside', { class: 'summary' }, h('h2', {}, L.summary), lines(items, false), totals())))

  const place = () => {
    const order = { id: newOrderId(), items: cart.items(), total: cart.total() }
    store.set('order', order)
    store.set('cart', [])
    location.href = '/thanks?order=' + encodeURIComponent(order.id)
  }
  const owner = slotOwner(as)
  const s = as['offer-strategy']
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    // The pop-up comes after the customer has decided to buy, never before.
    if (owner === 'offer-strategy') {
      if (s.payload.placement === 'checkout_popup' && visible(s, 'offer-strategy') && !KIT.some(cart.has)) {
        popup((dlg) => strategyOffer(s, { popup: true, done: () => { dlg.close(); place() } }), place)
      } else {
        place()
      }
    } else if (a.payload.placement === 'checkout_popup' && visible(a, 'offer-placement') && !cart.has('starter-set')) {
      popup((dlg) => starterOffer(a, {
        cta: L.popupAdd,
        onAccept: () => { cart.add('starter-set'); dlg.close(); place() }
      }), place)
    } else {
      place()
    }
  })
  up.expose(owner === 'offer-strategy' ? s : a, { cartValue: cart.total() }) // the cart before the offer: the CUPED covariate
}

// The checkout pop-up around the card offer(dialog) builds; its "no
// thanks" goes on to the order.
function popup (offer, place) {
  const dlg = h('dialog', { class: 'popup', 'aria-labelledby': 'popup-title', 'data-slot': 'checkout_popup' })
  const card = offer(dlg)
  const skip = card.querySelector('[data-action="decline"]')
  skip.textContent = L.popupSkip
  skip.addEventListener('click', () => { dlg.close(); place() })
  dlg.append(h('h2', { id: 'popup-title' }, L.popupTitle), card)
  document.body.append(dlg)
  dlg.showModal()
}

async function thanksPage (as) {
  const id = qs.get('order')
  const order = store.get('order', null)
  if (!order || order.id !== id) { location.href = '/'; return }
  // One conversion per experiment the visitor saw, with the order value;
  // the order id makes a reload of this page count nothing twice.
  up.purchase({ value: order.total, orderId: order.id })
  const offers = h('div', { class: 'offers' })
  main().replaceChildren(h('div', { class: 'thanks' },
    h('div', { class: 'check', 'aria-hidden': 'true' }, '✓'),
    h('h1', {}, L.thanksTitle),
    h('p', {}, L.orderNo + ': ', h('strong', { id: 'order-id' }, order.id)),
    h('p', { class: 'muted' }, L.thanksLine),
    lines(order.items, false),
    h('p', { class: 'grand' }, L.total + ': ', h('strong', {}, money(order.total))),
    offers,
    h('a', { class: 'btn ghost', href: '/' }, L.backToShop)))
  const a = as['offer-placement']
  const bought = order.items.some((i) => i.id === 'starter-set')
  if (a.payload.placement === 'thank_you_page' && visible(a, 'offer-placement') && !bought) {
    const card = starterOffer(a, {
      head: L.afterHead,
      body: L.afterBody,
      cta: L.afterAdd,
      onAccept: () => {
        // A second order of the same visitor: its own id, its own value.
        up.convert('offer-placement', { value: price('starter-set'), orderId: order.id + '-add' })
        order.items.push({ id: 'starter-set', qty: 1 })
        order.total += price('starter-set')
        store.set('order', order)
        card.replaceChildren(h('p', { class: 'declined', role: 'status' }, L.afterDone))
      }
    })
    offers.append(card)
  }
  up.expose(a, { cartValue: cart.total() }) // the cart before the offer: the CUPED covariate
}

// checkout-wording: the descaler add-on above the "place order" button,
// worded as the bandit's pick for this visitor says (its payload's copy in
// the region's language; the page's dir makes Arabic right to left). An
// accepted add-on goes into the cart and the order summary beside the form.
function checkoutAddon (as) {
  const a = as['checkout-wording']
  const form = document.getElementById('checkout')
  if (!form || !visible(a, 'checkout-wording') || cart.has('descaler')) return
  const pl = a.payload
  const card = offerCard('checkout-wording', a, {
    id: 'descaler',
    cls: 'addon wording-' + (pl.wording || 'plain'),
    head: said(pl, 'headline', L.products.descaler),
    body: said(pl, 'body', ''),
    extra: h('p', { class: 'offer-price' }, L.products.descaler + ' · ', h('strong', {}, money(price('descaler')))),
    onAccept: () => {
      cart.add('descaler')
      const summary = document.querySelector('.summary')
      if (summary) summary.replaceChildren(h('h2', {}, L.summary), lines(cart.items(), false), totals())
    }
  })
  form.insertBefore(card, document.getElementById('place-order'))
  up.exposeOnView(card, a, { cartValue: cart.total() })
}

// The developer strip: which variant of which experiment this page got.
let shown = {}
function renderPanel () {
  const rows = Object.values(shown).map((a) => h('tr', { 'data-row': a.experiment },
    h('td', {}, a.experiment), h('td', { class: 'v' }, a.variant), h('td', {}, a.reason)))
  document.getElementById('panel').replaceChildren(h('details', { class: 'upshot-panel', dir: 'ltr', lang: 'en' },
    h('summary', {}, 'Upshot · ', h('code', {}, up.visitor), ' · region ', h('code', {}, region),
      errors.length ? h('span', { class: 'offline' }, ' · upshotd unreachable: showing control') : null),
    h('table', {}, h('tr', {}, h('th', {}, 'experiment'), h('th', {}, 'variant'), h('th', {}, 'reason')), rows)))
}

async function start () {
  renderHeader()
  document.getElementById('foot').replaceChildren(h('p', {}, L.demoNote))
  const as = await up.getVariants({ page }, PAGE_EXPERIMENTS[page] || [])
  // An experiment missing from the answer (stopped, or not on this page)
  // gets the shop's default offer.
  for (const k of PAGE_EXPERIMENTS[page] || []) {
    if (!as[k]) as[k] = { experiment: k, variant: DEFAULTS[k].variant, payload: DEFAULTS[k].payload, inExperiment: false, reason: 'not_running' }
  }
  shown = as
  renderPanel()
  const render = { product: productPage, cart: cartPage, checkout: checkoutPage, thanks: thanksPage }[page]
  await render(as)
  if (page === 'checkout') checkoutAddon(as)
  document.body.dataset.ready = '1'
}

start()
