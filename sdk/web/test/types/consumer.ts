// consumer.ts: the SDK used as a shop's TypeScript code would use it,
// compiled by tsc (strict, no emit) in the test suite (`npm run test:types`).
// Each line here is something an integrator writes; when the declarations
// in types/ reject it, the suite fails with tsc's message.
import { createUpshot, Upshot, evaluate, murmur3, bucket, retryAfterMs, visitorId } from '@upshot/web'
import type { Assignment, ExperimentConfig, Payload, UpshotOptions } from '@upshot/web'
import { murmur3 as hashOnly } from '@upshot/web/hash'
import { ranges } from '@upshot/web/assign'

// A payload the shop declares as an interface (no index signature).
interface TierPayload {
  layout: 'one' | 'three'
  tiers: string[]
  highlight?: string
}
interface WordingPayload {
  headline: Record<string, string>
  cta: Record<string, string>
}

const options: UpshotOptions = {
  server: 'https://upshot.example.com',
  key: 'pk_live_example',
  region: 'gr',
  mode: 'remote',
  defaults: { 'checkout-tiers': { variant: 'control', payload: { layout: 'one' } } },
  onError: (e: Error) => console.warn(e.message)
}
const upshot: Upshot = createUpshot(options)
const same: Upshot = new Upshot({ server: 'https://upshot.example.com', region: 'se', storage: null })

function renderTiers (p: TierPayload): HTMLElement {
  const el = document.createElement('div')
  el.textContent = p.tiers.join(', ') + (p.highlight ? ' *' + p.highlight : '')
  return el
}

async function productPage (): Promise<void> {
  // A typed payload, exposed with and without the cart value.
  const tiers: Assignment<TierPayload> = await upshot.getVariant<TierPayload>('checkout-tiers')
  if (tiers.payload.layout === 'three') {
    const el = renderTiers(tiers.payload)
    const stop: () => void = upshot.exposeOnView(el, tiers, { cartValue: 42.5 })
    stop()
  }
  const shown: boolean = await upshot.expose(tiers)
  await upshot.expose(tiers, { cartValue: 19.9 })
  await upshot.expose('checkout-tiers')

  const wording = await upshot.getVariant<WordingPayload>('offer-wording', { force: 'benefits' })
  const head: string | undefined = wording.payload.headline[upshot.region]
  upshot.exposeOnView(document.body, wording)

  // Untyped use: the payload is Payload (unknown values).
  const all: Record<string, Assignment> = await upshot.getVariants({ page: 'product' }, ['offer-wording'])
  const any: Payload = all['offer-wording'].payload
  await upshot.expose(all['offer-wording'])
  if (shown && head && any) console.log(upshot.visitor, same.region)
}

function checkout (orderId: string): void {
  const ok: boolean = upshot.convert('checkout-tiers', { value: 129.0, orderId })
  const keys: string[] = upshot.purchase({ value: 129.0, orderId })
  upshot.refund('checkout-tiers', { value: 30, orderId, refundId: orderId + '-r1' })
  upshot.decline('offer-wording')
  const exposed: Record<string, string> = upshot.exposures()
  void upshot.flush(true)
  if (ok && keys.length && exposed && upshot.pending() === 0) console.log('sent')
}

// Local evaluation and the hash, as a server-side renderer might use them.
const config: ExperimentConfig = {
  key: 'checkout-tiers',
  variants: [{ key: 'control', weight: 0.5 }, { key: 'three', weight: 0.5, payload: { layout: 'three' } }]
}
const local: Assignment = evaluate(config, visitorId(null, null), 'gr')
// A factorial experiment: factors instead of variants, and the assignment
// says which level of each factor the visitor got.
const factorial: ExperimentConfig = {
  key: 'offer-strategy',
  status: 'running',
  factors: [
    { key: 'placement', levels: [{ key: 'cart', payload: { placement: 'cart_page' } }, { key: 'checkout' }] },
    { key: 'wording', levels: [{ key: 'plain', weight: 0.5 }, { key: 'benefit', weight: 0.5 }] }
  ],
  interactions: true
}
const cell: Assignment = evaluate(factorial, 'visitor-1', 'gr')
const wording: string | undefined = cell.factors ? cell.factors.wording : undefined
console.log(cell.variant, wording)
const n: number = murmur3('visitor-1', 0) + hashOnly('x') + bucket('checkout-tiers', 'variant', 'visitor-1') + ranges([0.5, 0.5])[1]
const wait: number = retryAfterMs(null)
console.log(local.variant, n, wait)
void productPage()
checkout('BH-1')
