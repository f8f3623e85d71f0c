/* steadfast dashboard. Bundles Preact 10 (MIT, (c) 2015-present Jason Miller) and htm 3 (Apache-2.0, (c) 2018 Google Inc.). */
(()=>{var ot,h,jt,Ae,W,Ot,Ft,Bt,ht,X,V,Jt,bt,gt,vt,qe,et={},rt=[],We=/acit|ex(?:s|g|n|p|$)|rph|grid|ows|mnc|ntw|ine[ch]|zoo|^ord|itera/i,at=Array.isArray;function q(e,t){for(var r in t)e[r]=t[r];return e}function yt(e){e&&e.parentNode&&e.parentNode.removeChild(e)}function kt(e,t,r){var n,a,o,s={};for(o in t)o=="key"?n=t[o]:o=="ref"?a=t[o]:s[o]=t[o];if(arguments.length>2&&(s.children=arguments.length>3?ot.call(arguments,2):r),typeof e=="function"&&e.defaultProps!=null)for(o in e.defaultProps)s[o]===void 0&&(s[o]=e.defaultProps[o]);return Z(e,s,n,a,null)}function Z(e,t,r,n,a){var o={type:e,props:t,key:r,ref:n,__k:null,__:null,__b:0,__e:null,__c:null,constructor:void 0,__v:a??++jt,__i:-1,__u:0};return a==null&&h.vnode!=null&&h.vnode(o),o}function st(e){return e.children}function tt(e,t){this.props=e,this.context=t}function U(e,t){if(t==null)return e.__?U(e.__,e.__i+1):null;for(var r;t<e.__k.length;t++)if((r=e.__k[t])!=null&&r.__e!=null)return r.__e;return typeof e.type=="function"?U(e):null}function Me(e){if(e.__P&&e.__d){var t=e.__v,r=t.__e,n=[],a=[],o=q({},t);o.__v=t.__v+1,h.vnode&&h.vnode(o),wt(e.__P,o,t,e.__n,e.__P.namespaceURI,32&t.__u?[r]:null,n,r??U(t),!!(32&t.__u),a),o.__v=t.__v,o.__.__k[o.__i]=o,Gt(n,o,a),t.__e=t.__=null,o.__e!=r&&Vt(o)}}function Vt(e){if((e=e.__)!=null&&e.__c!=null)return e.__e=e.__c.base=null,e.__k.some(function(t){if(t!=null&&t.__e!=null)return e.__e=e.__c.base=t.__e}),Vt(e)}function Ut(e){(!e.__d&&(e.__d=!0)&&W.push(e)&&!nt.__r++||Ot!=h.debounceRendering)&&((Ot=h.debounceRendering)||Ft)(nt)}function nt(){try{for(var e,t=1;W.length;)W.length>t&&W.sort(Bt),e=W.shift(),t=W.length,Me(e)}finally{W.length=nt.__r=0}}function zt(e,t,r,n,a,o,s,u,_,l,p){var f,i,d,m,k,x,T=n&&n.__k||rt,$=t.length;for(_=Oe(r,t,T,_,$),f=0;f<$;f++)(d=r.__k[f])!=null&&(i=d.__i!=-1&&T[d.__i]||et,d.__i=f,x=wt(e,d,i,a,o,s,u,_,l,p),m=d.__e,d.ref&&i.ref!=d.ref&&(i.ref&&xt(i.ref,null,d),p.push(d.ref,d.__c||m,d)),k==null&&m!=null&&(k=m),4&d.__u?(_=Qt(d,_,e),i.__e&&(i.__e=null)):typeof d.type=="function"&&x!==void 0?_=x:m&&(_=m.nextSibling),d.__u&=-7);return r.__e=k,_}function Oe(e,t,r,n,a){var o,s,u,_,l,p=r.length,f=p,i=0;for(e.__k=new Array(a),o=0;o<a;o++)(s=t[o])!=null&&typeof s!="boolean"&&typeof s!="function"?(typeof s=="string"||typeof s=="number"||typeof s=="bigint"||s.constructor==String?s=e.__k[o]=Z(null,s,null,null,null):at(s)?s=e.__k[o]=Z(st,{children:s},null,null,null):s.constructor===void 0&&s.__b>0?s=e.__k[o]=Z(s.type,s.props,s.key,s.ref?s.ref:null,s.__v):e.__k[o]=s,_=o+i,s.__=e,s.__b=e.__b+1,u=null,(l=s.__i=Ue(s,r,_,f))!=-1&&(f--,(u=r[l])&&(u.__u|=2)),u==null||u.__v==null?(l==-1&&(a>p?i--:a<p&&i++),typeof s.type!="function"&&(s.__u|=4)):l!=_&&(l==_-1?i--:l==_+1?i++:(l>_?i--:i++,s.__u|=4))):e.__k[o]=null;if(f)for(o=0;o<p;o++)(u=r[o])!=null&&(2&u.__u)==0&&(u.__e==n&&(n=U(u)),Xt(u,u));return n}function Qt(e,t,r){var n,a;if(typeof e.type=="function"){for(n=e.__k,a=0;n&&a<n.length;a++)n[a]&&(n[a].__=e,t=Qt(n[a],t,r));return t}e.__e!=t&&(t&&e.type&&!t.parentNode&&(t=U(e)),t=r.insertBefore(e.__e,t||null));do t=t&&t.nextSibling;while(t!=null&&t.nodeType==8);return t}function Ue(e,t,r,n){var a,o,s,u=e.key,_=e.type,l=t[r],p=l!=null&&(2&l.__u)==0;if(l===null&&u==null||p&&u==l.key&&_==l.type)return r;if(n>(p?1:0)){for(a=r-1,o=r+1;a>=0||o<t.length;)if((l=t[s=a>=0?a--:o++])!=null&&(2&l.__u)==0&&u==l.key&&_==l.type)return s}return-1}function It(e,t,r){t[0]=="-"?e.setProperty(t,r??""):e[t]=r==null?"":typeof r!="number"||We.test(t)?r:r+"px"}function Y(e,t,r,n,a){var o,s;t:if(t=="style")if(typeof r=="string")e.style.cssText=r;else{if(typeof n=="string"&&(e.style.cssText=n=""),n)for(t in n)r&&t in r||It(e.style,t,"");if(r)for(t in r)n&&r[t]==n[t]||It(e.style,t,r[t])}else if(t[0]=="o"&&t[1]=="n")o=t!=(t=t.replace(Jt,"$1")),s=t.toLowerCase(),t=s in e||t=="onFocusOut"||t=="onFocusIn"?s.slice(2):t.slice(2),e.l||(e.l={}),e.l[t+o]=r,r?n?r[V]=n[V]:(r[V]=bt,e.addEventListener(t,o?vt:gt,o)):e.removeEventListener(t,o?vt:gt,o);else{if(a=="http://www.w3.org/2000/svg")t=t.replace(/xlink(H|:h)/,"h").replace(/sName$/,"s");else if(t!="width"&&t!="height"&&t!="href"&&t!="list"&&t!="form"&&t!="tabIndex"&&t!="download"&&t!="rowSpan"&&t!="colSpan"&&t!="role"&&t!="popover"&&t in e)try{e[t]=r??"";break t}catch{}typeof r=="function"||(r==null||r===!1&&t[4]!="-"?e.removeAttribute(t):e.setAttribute(t,t=="popover"&&r==1?"":r))}}function Ht(e){return function(t){if(this.l){var r=this.l[t.type+e];if(t[X]==null)t[X]=bt++;else if(t[X]<r[V])return;return r(h.event?h.event(t):t)}}}function wt(e,t,r,n,a,o,s,u,_,l){var p,f,i,d,m,k,x,T,$,L,B,O,J,Mt,G,$t,A=t.type;if(t.constructor!==void 0)return null;128&r.__u&&(_=!!(32&r.__u),o=[u=t.__e=r.__e]),(p=h.__b)&&p(t);t:if(typeof A=="function"){f=s.length;try{if($=t.props,L=A.prototype&&A.prototype.render,B=(p=A.contextType)&&n[p.__c],O=p?B?B.props.value:p.__:n,r.__c?T=(i=t.__c=r.__c).__=i.__E:(L?t.__c=i=new A($,O):(t.__c=i=new tt($,O),i.constructor=A,i.render=He),B&&B.sub(i),i.state||(i.state={}),i.__n=n,d=i.__d=!0,i.__h=[],i._sb=[]),L&&i.__s==null&&(i.__s=i.state),L&&A.getDerivedStateFromProps!=null&&(i.__s==i.state&&(i.__s=q({},i.__s)),q(i.__s,A.getDerivedStateFromProps($,i.__s))),m=i.props,k=i.state,i.__v=t,d)L&&A.getDerivedStateFromProps==null&&i.componentWillMount!=null&&i.componentWillMount(),L&&i.componentDidMount!=null&&i.__h.push(i.componentDidMount);else{if(L&&A.getDerivedStateFromProps==null&&$!==m&&i.componentWillReceiveProps!=null&&i.componentWillReceiveProps($,O),t.__v==r.__v||!i.__e&&i.shouldComponentUpdate!=null&&i.shouldComponentUpdate($,i.__s,O)===!1){t.__v!=r.__v&&(i.props=$,i.state=i.__s,i.__d=!1),t.__e=r.__e,t.__k=r.__k,t.__k.some(function(j){j&&(j.__=t)}),rt.push.apply(i.__h,i._sb),i._sb=[],i.__h.length&&s.push(i),u=U(r);break t}i.componentWillUpdate!=null&&i.componentWillUpdate($,i.__s,O),L&&i.componentDidUpdate!=null&&i.__h.push(function(){i.componentDidUpdate(m,k,x)})}if(i.context=O,i.props=$,i.__P=e,i.__e=!1,J=h.__r,Mt=0,L)i.state=i.__s,i.__d=!1,J&&J(t),p=i.render(i.props,i.state,i.context),rt.push.apply(i.__h,i._sb),i._sb=[];else do i.__d=!1,J&&J(t),p=i.render(i.props,i.state,i.context),i.state=i.__s;while(i.__d&&++Mt<25);i.state=i.__s,i.getChildContext!=null&&(n=q(q({},n),i.getChildContext())),L&&!d&&i.getSnapshotBeforeUpdate!=null&&(x=i.getSnapshotBeforeUpdate(m,k)),G=p!=null&&p.type===st&&p.key==null?Yt(p.props.children):p,u=zt(e,at(G)?G:[G],t,r,n,a,o,s,u,_,l),i.base=t.__e,t.__u&=-161,i.__h.length&&s.push(i),T&&(i.__E=i.__=null)}catch(j){if(s.length=f,t.__v=null,_||o!=null){if(j.then){for(t.__u|=_?160:128;u&&u.nodeType==8&&u.nextSibling;)u=u.nextSibling;o!=null&&(o[o.indexOf(u)]=null),t.__e=u}else if(o!=null)for($t=o.length;$t--;)yt(o[$t])}else t.__e=r.__e;t.__k==null&&(t.__k=r.__k||[]),j.then||Kt(t),h.__e(j,t,r)}}else o==null&&t.__v==r.__v?(t.__k=r.__k,t.__e=r.__e):u=t.__e=Ie(r.__e,t,r,n,a,o,s,_,l);return(p=h.diffed)&&p(t),128&t.__u?void 0:u}function Kt(e){e&&(e.__c&&(e.__c.__e=!0),e.__k&&e.__k.some(Kt))}function Gt(e,t,r){for(var n=0;n<r.length;n++)xt(r[n],r[++n],r[++n]);h.__c&&h.__c(t,e),e.some(function(a){try{e=a.__h,a.__h=[],e.some(function(o){o.call(a)})}catch(o){h.__e(o,a.__v)}})}function Yt(e){return typeof e!="object"||e==null||e.__b>0?e:at(e)?e.map(Yt):e.constructor!==void 0?null:q({},e)}function Ie(e,t,r,n,a,o,s,u,_){var l,p,f,i,d,m,k,x=r.props||et,T=t.props,$=t.type;if($=="svg"?a="http://www.w3.org/2000/svg":$=="math"?a="http://www.w3.org/1998/Math/MathML":a||(a="http://www.w3.org/1999/xhtml"),o!=null){for(l=0;l<o.length;l++)if((d=o[l])&&"setAttribute"in d==!!$&&($?d.localName==$:d.nodeType==3)){e=d,o[l]=null;break}}if(e==null){if($==null)return document.createTextNode(T);e=document.createElementNS(a,$,T.is&&T),u&&(h.__m&&h.__m(t,o),u=!1),o=null}if($==null)x===T||u&&e.data==T||(e.data=T);else{if(o=$=="textarea"&&T.defaultValue!=null?null:o&&ot.call(e.childNodes),!u&&o!=null)for(x={},l=0;l<e.attributes.length;l++)x[(d=e.attributes[l]).name]=d.value;for(l in x)d=x[l],l=="dangerouslySetInnerHTML"?f=d:l=="children"||l in T||l=="value"&&"defaultValue"in T||l=="checked"&&"defaultChecked"in T||Y(e,l,null,d,a);for(l in T)d=T[l],l=="children"?i=d:l=="dangerouslySetInnerHTML"?p=d:l=="value"?m=d:l=="checked"?k=d:u&&typeof d!="function"||x[l]===d||Y(e,l,d,x[l],a);if(p)u||f&&(p.__html==f.__html||p.__html==e.innerHTML)||(e.innerHTML=p.__html),t.__k=[];else if(f&&(e.innerHTML=""),zt(t.type=="template"?e.content:e,at(i)?i:[i],t,r,n,$=="foreignObject"?"http://www.w3.org/1999/xhtml":a,o,s,o?o[0]:r.__k&&U(r,0),u,_),o!=null)for(l=o.length;l--;)yt(o[l]);u&&$!="textarea"||(l="value",$=="progress"&&m==null?e.removeAttribute("value"):m!=null&&(m!==e[l]||$=="progress"&&!m||$=="option"&&m!=x[l])&&Y(e,l,m,x[l],a),l="checked",k!=null&&k!=e[l]&&Y(e,l,k,x[l],a))}return e}function xt(e,t,r){try{if(typeof e=="function"){var n=typeof e.__u=="function";n&&e.__u(),n&&t==null||(e.__u=e(t))}else e.current=t}catch(a){h.__e(a,r)}}function Xt(e,t,r){var n,a;if(h.unmount&&h.unmount(e),(n=e.ref)&&(n.current&&n.current!=e.__e||xt(n,null,t)),(n=e.__c)!=null){if(n.componentWillUnmount)try{n.componentWillUnmount()}catch(o){h.__e(o,t)}n.base=n.__P=n.__n=null}if(n=e.__k)for(a=0;a<n.length;a++)n[a]&&Xt(n[a],t,r||typeof e.type!="function");r||yt(e.__e),e.__c=e.__=e.__e=void 0}function He(e,t,r){return this.constructor(e,r)}function Zt(e,t,r){var n,a,o,s;t==document&&(t=document.documentElement),h.__&&h.__(e,t),a=(n=typeof r=="function")?null:r&&r.__k||t.__k,o=[],s=[],wt(t,e=(!n&&r||t).__k=kt(st,null,[e]),a||et,et,t.namespaceURI,!n&&r?[r]:a?null:t.firstChild?ot.call(t.childNodes):null,o,!n&&r?r:a?a.__e:t.firstChild,n,s),Gt(o,e,s),e.props.children=null}ot=rt.slice,h={__e:function(e,t,r,n){for(var a,o,s;t=t.__;)if((a=t.__c)&&!a.__)try{if((o=a.constructor)&&o.getDerivedStateFromError!=null&&(a.setState(o.getDerivedStateFromError(e)),s=a.__d),a.componentDidCatch!=null&&(a.componentDidCatch(e,n||{}),s=a.__d),s)return a.__E=a}catch(u){e=u}throw e}},jt=0,Ae=function(e){return e!=null&&e.constructor===void 0},tt.prototype.setState=function(e,t){var r;r=this.__s!=null&&this.__s!=this.state?this.__s:this.__s=q({},this.state),typeof e=="function"&&(e=e(q({},r),this.props)),e&&q(r,e),e!=null&&this.__v&&(t&&this._sb.push(t),Ut(this))},tt.prototype.forceUpdate=function(e){this.__v&&(this.__e=!0,e&&this.__h.push(e),Ut(this))},tt.prototype.render=st,W=[],Ft=typeof Promise=="function"?Promise.prototype.then.bind(Promise.resolve()):setTimeout,Bt=function(e,t){return e.__v.__b-t.__v.__b},nt.__r=0,ht=Math.random().toString(8),X="__d"+ht,V="__a"+ht,Jt=/(PointerCapture)$|Capture$/i,bt=0,gt=Ht(!1),vt=Ht(!0),qe=0;var z,y,St,te,Q=0,ue=[],w=h,ee=w.__b,re=w.__r,ne=w.diffed,oe=w.__c,ae=w.unmount,se=w.__;function Ct(e,t){w.__h&&w.__h(y,e,Q||t),Q=0;var r=y.__H||(y.__H={__:[],__h:[]});return e>=r.__.length&&r.__.push({}),r.__[e]}function g(e){return Q=1,je(ce,e)}function je(e,t,r){var n=Ct(z++,2);if(n.t=e,!n.__c&&(n.__=[r?r(t):ce(void 0,t),function(u){var _=n.__N?n.__N[0]:n.__[0],l=n.t(_,u);_!==l&&(n.__N=[l,n.__[1]],n.__c.setState({}))}],n.__c=y,!y.__f)){var a=function(u,_,l){if(!n.__c.__H)return!0;var p=!1,f=n.__c.props!==u;if(n.__c.__H.__.some(function(d){if(d.__N){p=!0;var m=d.__[0];d.__=d.__N,d.__N=void 0,m!==d.__[0]&&(f=!0)}}),o){var i=o.call(this,u,_,l);return p?i||f:i}return!p||f};y.__f=!0;var o=y.shouldComponentUpdate,s=y.componentWillUpdate;y.componentWillUpdate=function(u,_,l){if(this.__e){var p=o;o=void 0,a(u,_,l),o=p}s&&s.call(this,u,_,l)},y.shouldComponentUpdate=a}return n.__N||n.__}function E(e,t){var r=Ct(z++,3);!w.__s&&de(r.__H,t)&&(r.__=e,r.u=t,y.__H.__h.push(r))}function ut(e){return Q=5,le(function(){return{current:e}},[])}function le(e,t){var r=Ct(z++,7);return de(r.__H,t)&&(r.__=e(),r.__H=t,r.__h=e),r.__}function lt(e,t){return Q=8,le(function(){return e},t)}function Fe(){for(var e;e=ue.shift();){var t=e.__H;if(e.__P&&t)try{t.__h.some(it),t.__h.some(Tt),t.__h=[]}catch(r){t.__h=[],w.__e(r,e.__v)}}}w.__b=function(e){y=null,ee&&ee(e)},w.__=function(e,t){e&&t.__k&&t.__k.__m&&(e.__m=t.__k.__m),se&&se(e,t)},w.__r=function(e){re&&re(e),z=0;var t=(y=e.__c).__H;t&&(St===y?(t.__h=[],y.__h=[],t.__.some(function(r){r.__N&&(r.__=r.__N),r.u=r.__N=void 0})):(t.__h.some(it),t.__h.some(Tt),t.__h=[],z=0)),St=y},w.diffed=function(e){ne&&ne(e);var t=e.__c;t&&t.__H&&(t.__H.__h.length&&(ue.push(t)!==1&&te===w.requestAnimationFrame||((te=w.requestAnimationFrame)||Be)(Fe)),t.__H.__.some(function(r){r.u&&(r.__H=r.u,r.u=void 0)})),St=y=null},w.__c=function(e,t){t.some(function(r){try{r.__h.some(it),r.__h=r.__h.filter(function(n){return!n.__||Tt(n)})}catch(n){t.some(function(a){a.__h&&(a.__h=[])}),t=[],w.__e(n,r.__v)}}),oe&&oe(e,t)},w.unmount=function(e){ae&&ae(e);var t,r=e.__c;r&&r.__H&&(r.__H.__.some(function(n){try{it(n)}catch(a){t=a}}),r.__H=void 0,t&&w.__e(t,r.__v))};var ie=typeof requestAnimationFrame=="function";function Be(e){var t,r=function(){clearTimeout(n),ie&&cancelAnimationFrame(t),setTimeout(e)},n=setTimeout(r,35);ie&&(t=requestAnimationFrame(r))}function it(e){var t=y,r=e.__c;typeof r=="function"&&(e.__c=void 0,r()),y=t}function Tt(e){var t=y;e.__c=e.__(),y=t}function de(e,t){return!e||e.length!==t.length||t.some(function(r,n){return r!==e[n]})}function ce(e,t){return typeof t=="function"?t(e):t}var Nt="steadfast.token",dt=class extends Error{constructor(t,r,n){super(r),this.status=t,this.problem=n}};function Dt(){return sessionStorage.getItem(Nt)||""}function Pt(e){e?sessionStorage.setItem(Nt,e):sessionStorage.removeItem(Nt)}var Et=new Set;function _e(e){return Et.add(e),()=>Et.delete(e)}async function pe(e,t,r){let n={Accept:"application/json"},a=Dt();a&&(n.Authorization=`Bearer ${a}`);let o={method:e,headers:n,cache:"no-store"};r!==void 0&&(n["Content-Type"]="application/json",o.body=JSON.stringify(r));let s;try{s=await fetch(t,o)}catch(l){throw new dt(0,`the server did not answer (${l.message})`,null)}let u=await s.text(),_=null;try{_=u?JSON.parse(u):null}catch{_=null}if(!s.ok){s.status===401&&Et.forEach(p=>p());let l=_&&_.detail||`${s.status} ${s.statusText}`;throw new dt(s.status,l,_)}return _}var v=e=>pe("GET",e),D=(e,t)=>pe("POST",e,t===void 0?{}:t);function ct(e){let t=new URLSearchParams;for(let[n,a]of Object.entries(e))a!=null&&a!==""&&t.set(n,a);let r=t.toString();return r?`?${r}`:""}var me=function(e,t,r,n){var a;t[0]=0;for(var o=1;o<t.length;o++){var s=t[o++],u=t[o]?(t[0]|=s?1:2,r[t[o++]]):t[++o];s===3?n[0]=u:s===4?n[1]=Object.assign(n[1]||{},u):s===5?(n[1]=n[1]||{})[t[++o]]=u:s===6?n[1][t[++o]]+=u+"":s?(a=e.apply(u,me(e,u,r,["",null])),n.push(a),u[0]?t[0]|=2:(t[o-2]=0,t[o]=a)):n.push(u)}return n},fe=new Map;function $e(e){var t=fe.get(this);return t||(t=new Map,fe.set(this,t)),(t=me(this,t.get(e)||(t.set(e,t=(function(r){for(var n,a,o=1,s="",u="",_=[0],l=function(i){o===1&&(i||(s=s.replace(/^\s*\n\s*|\s*\n\s*$/g,"")))?_.push(0,i,s):o===3&&(i||s)?(_.push(3,i,s),o=2):o===2&&s==="..."&&i?_.push(4,i,0):o===2&&s&&!i?_.push(5,0,!0,s):o>=5&&((s||!i&&o===5)&&(_.push(o,0,s,a),o=6),i&&(_.push(o,i,0,a),o=6)),s=""},p=0;p<r.length;p++){p&&(o===1&&l(),l(p));for(var f=0;f<r[p].length;f++)n=r[p][f],o===1?n==="<"?(l(),_=[_],o=3):s+=n:o===4?s==="--"&&n===">"?(o=1,s=""):s=n+s[0]:u?n===u?u="":s+=n:n==='"'||n==="'"?u=n:n===">"?(l(),o=1):o&&(n==="="?(o=5,a=s,s=""):n==="/"&&(o<5||r[p][f+1]===">")?(l(),o===3&&(_=_[0]),o=_,(_=_[0]).push(2,0,o),o=0):n===" "||n==="	"||n===`
`||n==="\r"?(l(),o=2):s+=n),o===3&&s==="!--"&&(o=4,_=_[0])}return l(),_})(e)),t),arguments,[])).length>1?t:t[0]}var c=$e.bind(kt);function he(e){let t=e.replace(/^#/,"")||"/",r=t.indexOf("?"),n=r<0?t:t.slice(0,r),a=new URLSearchParams(r<0?"":t.slice(r+1));return{parts:n.split("/").filter(Boolean).map(decodeURIComponent),params:a}}function ge(){let[e,t]=g(()=>he(location.hash));return E(()=>{let r=()=>t(he(location.hash));return addEventListener("hashchange",r),()=>removeEventListener("hashchange",r)},[]),e}function _t(e,t,r=!1){let n=t?new URLSearchParams(t).toString():"",a=`#${e}${n?`?${n}`:""}`;r?history.replaceState(null,"",a):location.hash=a,r&&dispatchEvent(new HashChangeEvent("hashchange"))}var M=e=>`#/runs/${encodeURIComponent(e)}`;var ve=["scheduled","queued","running","retrying","waiting","completed","failed","cancelled"];function I({status:e}){return c`<span class=${`status status-${e}`} data-status=${e}>${e}</span>`}function b({error:e}){return e?c`<p class="error" role="alert">${e}</p>`:null}function Rt({value:e}){return e==null?c`<span class="muted">none</span>`:c`<pre class="json">${JSON.stringify(e,null,2)}</pre>`}function S({head:e,rows:t,empty:r="Nothing here.",testid:n}){return c`
    <div class="table-wrap">
      <table data-testid=${n}>
        <thead><tr>${e.map(a=>c`<th>${a}</th>`)}</tr></thead>
        <tbody>
          ${t.length?t:c`<tr><td colspan=${e.length} class="muted">${r}</td></tr>`}
        </tbody>
      </table>
    </div>`}function N({label:e,confirm:t,run:r,danger:n=!1,testid:a}){let[o,s]=g(!1),[u,_]=g(!1),[l,p]=g(null),f=async()=>{s(!1),_(!0),p(null);try{let d=await r();p(d?{ok:!0,text:d}:null)}catch(d){p({ok:!1,text:d.message})}finally{_(!1)}},i=n?"button danger":"button";return c`
    <span class="action">
      ${o?c`<span class="confirm" role="group">
            <span>${t}</span>
            <button class=${i} data-testid=${a&&`${a}-confirm`} onClick=${f}>Yes, ${e.toLowerCase()}</button>
            <button class="button plain" data-testid=${a&&`${a}-dismiss`} onClick=${()=>s(!1)}>No</button>
          </span>`:c`<button class=${i} disabled=${u} data-testid=${a}
            onClick=${()=>t?s(!0):f()}>${u?`${e}…`:e}</button>`}
      ${l&&c`<span class=${l.ok?"note ok":"note error"} role=${l.ok?"status":"alert"}>${l.text}</span>`}
    </span>`}var pt=600,H=150,F=4;function Je(e,t){let r="",n=!1,a=e.length>1?(pt-2*F)/(e.length-1):0;return e.forEach((o,s)=>{if(o==null){n=!1;return}let u=F+s*a,_=H-F-(t>0?o/t*(H-2*F):0);r+=`${n?"L":"M"}${u.toFixed(1)} ${_.toFixed(1)}`,n=!0}),r}function Lt({title:e,minutes:t,series:r,testid:n,summary:a="total"}){let o=Math.max(1,...r.flatMap(i=>i.values.filter(d=>d!=null))),s=t[0]?new Date(t[0]):null,u=t.length?new Date(t[t.length-1]):null,_=i=>i?i.toLocaleTimeString(void 0,{hour:"2-digit",minute:"2-digit",hour12:!1}):"",f=a==="last"?i=>[...i.values].reverse().find(d=>d!=null)??"—":i=>i.values.reduce((d,m)=>d+(m||0),0);return c`
    <figure class="chart" data-testid=${n}>
      <figcaption>${e}</figcaption>
      <div class="chart-body">
        <span class="chart-max">${o}</span>
        <svg viewBox=${`0 0 ${pt} ${H}`} preserveAspectRatio="none" role="img" aria-label=${e}>
          <line class="grid" x1="0" x2=${pt} y1=${H/2} y2=${H/2} />
          <line class="axis" x1="0" x2=${pt} y1=${H-F} y2=${H-F} />
          ${r.map(i=>c`<path class=${`line ${i.tone}`} d=${Je(i.values,o)} />`)}
        </svg>
      </div>
      <div class="chart-foot"><span>${_(s)}</span><span>${_(u)}</span></div>
      <ul class="legend">
        ${r.map(i=>c`<li><i class=${`swatch ${i.tone}`}></i>${i.name} <b>${f(i)}</b></li>`)}
      </ul>
    </figure>`}function C(e,t,{ms:r=2e3,live:n=!0}={}){let[a,o]=g({data:null,error:null,loading:!0}),s=ut(0),u=lt(async()=>{let _=++s.current;try{let l=await e();_===s.current&&o({data:l,error:null,loading:!1})}catch(l){_===s.current&&o(p=>({data:p.data,error:l.message,loading:!1}))}},t);return E(()=>{if(o(l=>({...l,loading:!0})),u(),!n)return()=>s.current++;let _=setInterval(()=>{document.visibilityState==="visible"&&u()},r);return()=>{clearInterval(_),s.current++}},[u,n,r]),{...a,reload:u}}function R(e,t=Date.now()){if(!e)return"—";let r=Math.round((t-Date.parse(e))/1e3);return r<0?be(e,t):r<5?"just now":`${ft(r*1e3)} ago`}function be(e,t=Date.now()){if(!e)return"—";let r=Math.round((Date.parse(e)-t)/1e3);if(r<=0)return"now";if(r<60)return`in ${r} s`;let n=Math.round(r/60);if(n<60)return`in ${n} min`;let a=Math.floor(n/60);return a<48?`in ${a} h${n%60?` ${n%60} min`:""}`:`in ${Math.floor(a/24)} d${a%24?` ${a%24} h`:""}`}function K(e,t=Date.now()){return e?Date.parse(e)>t?`starts at ${P(e)} (${be(e,t)})`:`started at ${P(e)} (${R(e,t)})`:"—"}function ft(e){if(e==null||Number.isNaN(e))return"—";if(e<1e3)return`${Math.round(e)} ms`;let t=e/1e3;if(t<60)return`${t<10?t.toFixed(1):Math.round(t)} s`;let r=Math.floor(t/60);if(r<60)return`${r} min ${Math.round(t%60)} s`;let n=Math.floor(r/60);return n<48?`${n} h ${r%60} min`:`${Math.floor(n/24)} d ${n%24} h`}function P(e){return e?new Date(e).toLocaleString(void 0,{hour12:!1}):"—"}var At=(e,t)=>e&&t?Date.parse(t)-Date.parse(e):null;function qt(e,t=Date.now()){if(!e)return null;let r=e.until?` (until ${P(e.until)}, ${R(e.until,t)})`:"";switch(e.kind){case"retry":return`waiting to retry${r}`;case"sleep":return`sleeping${r}`;case"signal":return`waiting for the signal “${e.signal}”${r}`;case"child":return`waiting for the child run ${e.run_id} to finish`;case"limiter":return`held by the limiter “${e.limiter}”${e.key?` (key ${e.key})`:""}${r}`;case"fairness":return`queued behind other keys of queue “${e.queue}” (fairness, key ${e.key})`;case"max_parallel":return"waiting: the step’s max_parallel is reached";case"queue_paused":return`waiting: queue “${e.queue}” is paused`;case"no_worker":return`waiting: no live worker reads queue “${e.queue}”`;case"scheduled":return`scheduled: ${K(e.until,t)}`;case"needs":return"waiting for the steps it needs";default:return`waiting (${e.kind})${r}`}}function mt(e,t){let r=new Array(t).fill(null);for(let n of Object.values(e||{}))n.forEach((a,o)=>{a!=null&&(r[o]=(r[o]||0)+a)});return r}var ye=["c1","c2","c3","c4","c5","c6"];function ke(){let{data:e,error:t}=C(async()=>{let[l,p,f,i]=await Promise.all([v("/v1/stats/series"),v("/v1/queues"),v("/v1/dlq?limit=1000"),v("/v1/workers")]);return{series:l,queues:p.queues,dead:f.dead_letters,workers:i.workers}},[],{ms:5e3});if(!e)return c`<${b} error=${t} />${!t&&c`<p class="muted">Loading…</p>`}`;let{series:r,queues:n,dead:a,workers:o}=e,s=r.minutes.length,u=r.counts||{},_=o.filter(l=>Date.now()-Date.parse(l.beat_at)<15e3).length;return c`
    <${b} error=${t} />
    <section class="cards">
      <a class="card" href="#/dlq" data-testid="card-dlq"><b>${a.length}${a.length>=1e3?"+":""}</b> dead letters</a>
      <a class="card" href="#/workers"><b>${_}</b> live workers</a>
      <a class="card" href="#/queues"><b>${n.reduce((l,p)=>l+p.waiting,0)}</b> steps waiting</a>
      <a class="card" href="#/queues"><b>${n.filter(l=>l.paused).length}</b> paused queues</a>
    </section>
    <section class="charts">
      <${Lt} testid="chart-throughput" title="Runs per minute (last hour)" minutes=${r.minutes}
        series=${[{name:"submitted",values:mt(u.submitted,s),tone:"c2"},{name:"completed",values:mt(u.completed,s),tone:"ok"},{name:"retried steps",values:mt(u.retried,s),tone:"warn"},{name:"failed",values:mt(u.failed,s),tone:"bad"}]} />
      <${Lt} testid="chart-depth" title="Queue depth (entries at each minute)" minutes=${r.minutes}
        summary="last"
        series=${Object.entries(r.queue_depth||{}).map(([l,p],f)=>({name:l,values:p,tone:ye[f%ye.length]}))} />
    </section>
    <h2>Queues</h2>
    <${S} head=${["Queue","Waiting","In flight","Workers","Per minute",""]}
      rows=${n.map(l=>c`<tr>
        <td>${l.name}</td><td>${l.waiting}</td><td>${l.in_flight}</td><td>${l.workers}</td>
        <td>${l.throughput_per_minute??"—"}</td><td>${l.paused?c`<span class="status status-paused">paused</span>`:""}</td>
      </tr>`)} />
    <h2>Newest dead letters</h2>
    <${S} head=${["Run","Workflow","Step","Error","When"]} empty="No dead letters."
      rows=${a.slice(0,5).map(l=>c`<tr>
        <td><a href=${`#/runs/${l.run_id}`} class="mono">${l.run_id}</a></td><td>${l.workflow}</td>
        <td>${l.step}</td><td class="clip">${l.error}</td><td>${R(l.at)}</td>
      </tr>`)} />`}var we=["workflow","status","meta","created_after","created_before"];function Ve(e){let t={};for(let r of(e||"").split(/[\s,]+/).filter(Boolean)){let n=r.indexOf("=");n>0&&(t[`meta.${r.slice(0,n)}`]=r.slice(n+1))}return t}var xe=e=>e?new Date(e).toISOString():"";function Se({params:e}){let t=Object.fromEntries(we.map(d=>[d,e.get(d)||""])),r=e.get("cursor")||"",[n,a]=g(!0),[o,s]=g([]),u=ut([]);E(()=>{v("/v1/workflows").then(d=>s(d.workflows.map(m=>m.name)),()=>{})},[]);let _=JSON.stringify([t,r]),{data:l,error:p}=C(()=>v(`/v1/runs${ct({workflow:t.workflow,status:t.status,created_after:xe(t.created_after),created_before:xe(t.created_before),limit:50,cursor:r,...Ve(t.meta)})}`),[_],{live:n&&!r}),f=(d,m=!1)=>{m||(u.current=[]);let k={...t,cursor:r,...d};m||(k.cursor=""),_t("/runs",Object.fromEntries(Object.entries(k).filter(([,x])=>x)),!0)};return c`
    <form class="filters" onSubmit=${d=>{d.preventDefault();let m=new FormData(d.currentTarget);f(Object.fromEntries(we.map(k=>[k,String(m.get(k)||"").trim()])))}} data-testid="run-filters" key=${JSON.stringify(t)}>
      <label>Workflow
        <select name="workflow" value=${t.workflow} onChange=${d=>f({workflow:d.currentTarget.value})}>
          <option value="">any</option>
          ${o.map(d=>c`<option value=${d}>${d}</option>`)}
        </select>
      </label>
      <label>Status
        <select name="status" value=${t.status} data-testid="filter-status"
          onChange=${d=>f({status:d.currentTarget.value})}>
          <option value="">any</option>
          <option value="live">live (not ended)</option>
          ${ve.map(d=>c`<option value=${d}>${d}</option>`)}
        </select>
      </label>
      <label class="grow">Metadata
        <input name="meta" defaultValue=${t.meta} placeholder="customer=acme region=eu" data-testid="filter-meta" />
      </label>
      <label>Created after
        <input name="created_after" type="datetime-local" defaultValue=${t.created_after} />
      </label>
      <label>Created before
        <input name="created_before" type="datetime-local" defaultValue=${t.created_before} />
      </label>
      <button class="button" type="submit" data-testid="filter-apply">Filter</button>
      <label class="check"><input type="checkbox" checked=${n} onChange=${d=>a(d.currentTarget.checked)} /> live</label>
    </form>
    <${b} error=${p} />
    <${S} testid="runs-table" head=${["Run","Workflow","Status","Metadata","Created","Updated"]}
      empty=${l?"No run matches.":"Loading…"}
      rows=${(l?l.runs:[]).map(d=>c`<tr data-run=${d.id}>
        <td><a class="mono" href=${M(d.id)}>${d.id}</a></td>
        <td>${d.workflow}</td>
        <td><${I} status=${d.status} />${d.status==="scheduled"&&d.run_at&&c`
          <span class="muted starts" data-testid="run-at" title=${d.run_at}>${K(d.run_at)}</span>`}</td>
        <td class="meta">${Object.entries(d.metadata||{}).map(([m,k])=>c`<span class="tag">${m}=${k}</span>`)}</td>
        <td title=${d.created_at}>${R(d.created_at)}</td>
        <td title=${d.updated_at}>${R(d.updated_at)}</td>
      </tr>`)} />
    <nav class="pager">
      <button class="button plain" disabled=${!r}
        onClick=${()=>f({cursor:u.current.pop()||""},!0)}>← Newer</button>
      <button class="button plain" disabled=${!l||!l.next_cursor} data-testid="next-page"
        onClick=${()=>{u.current.push(r),f({cursor:l.next_cursor},!0)}}>Older →</button>
      ${r&&c`<span class="muted">live refresh pauses on older pages</span>`}
    </nav>`}var Wt=new Set(["completed","failed","cancelled"]);function ze({run:e,now:t}){let r=Date.parse(e.created_at),n=e.steps.map(u=>u.finished_at?Date.parse(u.finished_at):u.started_at?t:r),o=Math.max(r+1,...n,Wt.has(e.status)?Date.parse(e.updated_at):t)-r,s=u=>`${((u-r)/o*100).toFixed(2)}%`;return c`
    <ol class="timeline" data-testid="timeline">
      ${e.steps.map(u=>{let _=u.started_at?Date.parse(u.started_at):null,l=u.finished_at?Date.parse(u.finished_at):t;return c`<li class="step" data-step=${u.name} data-status=${u.status}>
          <div class="step-head">
            <b>${u.name}</b> <${I} status=${u.status} />
            <span class="muted">${u.attempts} attempt${u.attempts===1?"":"s"}</span>
            ${u.child&&c`<a class="mono" data-testid="child" href=${M(u.child)}>child ${u.child}</a>`}
            ${u.items&&c`<span class="muted" data-testid="items">${u.items.completed+u.items.failed} of ${u.items.total} items${u.items.failed?` (${u.items.failed} failed)`:""}</span>`}
            ${u.started_at&&c`<span class="muted">${ft(At(u.started_at,u.finished_at||new Date(t).toISOString()))}</span>`}
          </div>
          <div class="track">
            ${_!==null&&c`<span class=${`bar status-${u.status}`}
              style=${{left:s(_),width:`max(2px, ${s(r+Math.max(0,l-_))})`}}></span>`}
          </div>
          ${u.waiting_for&&c`<p class="waiting">${qt(u.waiting_for,t)}</p>`}
          ${u.message&&c`<p class="muted">${u.message}${u.progress!==null?` (${Math.round(u.progress*100)}%)`:""}</p>`}
        </li>`})}
    </ol>`}function Qe({step:e}){return c`
    <details class="step-details" data-step=${e.name} open=${e.status==="failed"}>
      <summary><b>${e.name}</b> <${I} status=${e.status} /> ${e.worker&&c`<span class="muted">on ${e.worker}</span>`}</summary>
      ${e.error&&c`<p class="error">${e.error}</p>`}
      <h4>Attempts</h4>
      <${S} head=${["#","Outcome","Worker","Started","Took","Error"]} empty="No finished attempt yet."
        rows=${(e.attempt_history||[]).map(t=>c`<tr>
          <td>${t.attempt}</td><td><${I} status=${t.outcome} /></td><td class="mono">${t.worker}</td>
          <td>${P(t.started_at)}</td><td>${ft(At(t.started_at,t.finished_at))}</td>
          <td class="clip">${t.error||""}</td></tr>`)} />
      <h4>Output</h4>
      <${Rt} value=${e.output} />
    </details>`}function Ke({run:e,reload:t}){let[r,n]=g(e.steps.find(o=>o.status!=="completed")?.name||e.steps[0]?.name),a=Wt.has(e.status);return c`
    <div class="actions" data-testid="run-actions">
      ${!a&&c`<${N} label="Cancel" danger testid="cancel" confirm="Cancel this run?"
        run=${async()=>{let o=await D(`/v1/runs/${e.id}/cancel`);return t(),`run ${o.result}`}} />`}
      ${e.status==="failed"&&c`<${N} label="Replay" testid="replay"
        run=${async()=>(await D(`/v1/dlq/${e.id}/replay`),t(),"replayed: the failed step runs again")} />`}
      <span class="rerun">
        <label>Rerun from
          <select value=${r} onChange=${o=>n(o.currentTarget.value)} data-testid="rerun-step">
            ${e.steps.map(o=>c`<option value=${o.name}>${o.name}</option>`)}
          </select>
        </label>
        <${N} label="Rerun" testid="rerun" confirm=${`Start a new run from step “${r}”?`}
          run=${async()=>{let o=await D(`/v1/runs/${e.id}/rerun`,{from_step:r});_t(`/runs/${o.run_id}`)}} />
      </span>
    </div>`}function Ge({run:e,signal:t,reload:r}){let[n,a]=g('{"approved": true}');return c`
    <div class="actions signal-form" data-testid="signal-form">
      <label>Body of the signal “${t}” (JSON; the step's output)
        <textarea rows="3" spellcheck="false" data-testid="signal-body" value=${n}
          onInput=${o=>a(o.currentTarget.value)}></textarea>
      </label>
      <${N} label=${`Send “${t}”`} testid="send-signal"
        run=${async()=>{let o;try{o=n.trim()===""?null:JSON.parse(n)}catch(u){throw new Error(`the body is not JSON: ${u.message}`)}let s=await D(`/v1/runs/${e.id}/signals/${encodeURIComponent(t)}`,o);return r(),s.result==="delivered"?"sent: the step takes it now":`signal ${s.result}`}} />
    </div>`}function Te({id:e,me:t}){let[r,n]=g(!1),{data:a,error:o,reload:s}=C(()=>v(`/v1/runs/${encodeURIComponent(e)}`),[e],{ms:1500,live:!r}),u=a&&a.id===e?a.status:null;if(E(()=>n(Wt.has(u)),[u]),E(()=>(document.title=a&&a.id===e?`Run ${a.id} (${a.workflow}, ${a.status}) · steadfast`:"steadfast",()=>{document.title="steadfast"}),[e,a&&a.id,a&&a.status]),!a)return c`<h1 class="page-title run-title">Run <span class="mono">${e}</span></h1>
      <${b} error=${o} />${!o&&c`<p class="muted">Loading…</p>`}`;let _=Date.now();return c`
    <header class="run-head">
      <h1 class="page-title run-title" data-testid="run-title">
        Run <span class="mono" data-testid="run-id">${a.id}</span>${" "}<span class="workflow">${a.workflow}</span>${" "}<${I} status=${a.status} />
      </h1>
      <${b} error=${o} />
      <dl class="facts">
        <dt>Workflow</dt><dd>${a.workflow}</dd>
        <dt>Created</dt><dd>${P(a.created_at)}</dd>
        ${a.run_at&&c`<dt>Scheduled</dt><dd data-testid="run-at" title=${a.run_at}>${K(a.run_at,_)}</dd>`}
        ${a.deadline_at&&c`<dt>Deadline</dt><dd data-testid="deadline-at" title=${a.deadline_at}>${P(a.deadline_at)}</dd>`}
        <dt>Updated</dt><dd>${P(a.updated_at)}</dd>
        ${a.parent&&c`<dt>Parent</dt><dd data-testid="parent"><a class="mono" href=${M(a.parent.run_id)}>${a.parent.run_id}</a> step ${a.parent.step}</dd>`}
        ${a.rerun_of&&c`<dt>Rerun of</dt><dd><a class="mono" href=${M(a.rerun_of)}>${a.rerun_of}</a> from ${a.rerun_from}</dd>`}
        <dt>Metadata</dt><dd>${Object.entries(a.metadata||{}).map(([l,p])=>c`<span class="tag">${l}=${p}</span>`)}</dd>
      </dl>
      ${a.waiting_for&&c`<p class="waiting" data-testid="waiting-for">${qt(a.waiting_for,_)}</p>`}
      ${a.waiting_for?.kind==="signal"&&(t.role==="admin"||t.role==="submit")&&c`<${Ge} run=${a} signal=${a.waiting_for.signal} reload=${s} />`}
      ${t.role==="admin"&&c`<${Ke} run=${a} reload=${s} />`}
    </header>
    <h3>Timeline</h3>
    <${ze} run=${a} now=${_} />
    <h3>Steps</h3>
    ${a.steps.map(l=>c`<${Qe} step=${l} />`)}
    <h3>Input</h3>
    <${Rt} value=${a.input} />`}function Ye({id:e}){let[t,r]=g(null);return E(()=>{let n=!1,a=async()=>{try{let o=await v(`/v1/bulk/${e}`);if(n)return;r(o),(o.status==="queued"||o.status==="running")&&setTimeout(a,1e3)}catch{n||setTimeout(a,2e3)}};return a(),()=>{n=!0}},[e]),t?c`<p class="note" data-testid="bulk-job">Bulk ${t.action} ${t.id}: ${t.status};
    ${t.matched} matched, ${t.succeeded} done, ${t.skipped} skipped${t.error?` (${t.error})`:""}</p>`:null}function Ce({me:e}){let[t,r]=g(""),[n,a]=g(null),{data:o,error:s,reload:u}=C(()=>v("/v1/dlq?limit=200"),[],{ms:3e3}),_=e.role==="admin",l=o?o.dead_letters:[],p=[...new Set(l.map(d=>d.workflow))].sort(),f=t?`of workflow “${t}”`:"of every workflow",i=t?{workflow:t}:{};return c`
    <${b} error=${s} />
    ${_&&c`<div class="toolbar" data-testid="dlq-bulk">
      <label>Workflow
        <select value=${t} onChange=${d=>r(d.currentTarget.value)}>
          <option value="">all</option>
          ${p.map(d=>c`<option value=${d}>${d}</option>`)}
        </select>
      </label>
      <${N} label="Replay all" testid="replay-all" confirm=${`Replay every failed run ${f}?`}
        run=${async()=>{let d=await D("/v1/runs:bulk",{action:"replay",filter:i});return a(d.id),null}} />
      <${N} label="Purge" danger testid="purge" confirm=${`Delete every dead letter ${f}? This cannot be undone.`}
        run=${async()=>{let d=await D("/v1/dlq/purge",t?i:{confirm:!0});return u(),`${d.purged} purged`}} />
    </div>`}
    ${n&&c`<${Ye} id=${n} />`}
    <${S} testid="dlq-table" head=${["Run","Workflow","Step","Attempts","Error","When",""]}
      empty=${o?"No dead letters.":"Loading…"}
      rows=${l.map(d=>c`<tr data-run=${d.run_id}>
        <td><a class="mono" href=${M(d.run_id)}>${d.run_id}</a></td>
        <td>${d.workflow}</td><td>${d.step}</td><td>${d.attempts}</td>
        <td class="clip" title=${d.error}>${d.error}</td><td title=${d.at}>${R(d.at)}</td>
        <td>${_&&c`<${N} label="Replay" testid="replay"
          run=${async()=>(await D(`/v1/dlq/${d.id}/replay`),u(),"replayed")} />`}</td>
      </tr>`)} />`}function Ne({me:e}){let{data:t,error:r,reload:n}=C(()=>v("/v1/queues"),[],{ms:2e3}),a=e.role==="admin",o=s=>async()=>{let u=await D(`/v1/queues/${encodeURIComponent(s.name)}/${s.paused?"resume":"pause"}`);return n(),u.paused?"paused":"resumed"};return c`
    <${b} error=${r} />
    <${S} testid="queues-table" head=${["Queue","State","Waiting","In flight","Entries","Workers","Per minute",""]}
      empty=${t?"No queues.":"Loading…"}
      rows=${(t?t.queues:[]).map(s=>c`<tr data-queue=${s.name}>
        <td>${s.name}</td>
        <td>${s.paused?c`<span class="status status-paused" data-testid="queue-state">paused</span>`:c`<span class="status status-completed" data-testid="queue-state">active</span>`}</td>
        <td>${s.waiting}</td><td>${s.in_flight}</td><td>${s.entries}</td><td>${s.workers}</td>
        <td>${s.throughput_per_minute??"—"}</td>
        <td>${a&&c`<${N} key=${`${s.name}-${s.paused}`} label=${s.paused?"Resume":"Pause"}
          testid=${s.paused?"resume":"pause"} run=${o(s)} />`}</td>
      </tr>`)} />`}function Ee({me:e}){let{data:t,error:r,reload:n}=C(()=>v("/v1/schedules"),[],{ms:2e3}),a=e.role==="admin",o=(s,u)=>async()=>{let _=await D(`/v1/schedules/${encodeURIComponent(s.name)}/${u}`);return n(),u==="trigger"?"run started":_.paused?"paused":"resumed"};return c`
    <${b} error=${r} />
    <${S} testid="schedules-table"
      head=${["Schedule","Workflow","Cron","Time zone","State","Next tick","Last tick","Last run","Runs",""]}
      empty=${t?"No schedules (a workflows file’s schedules: section publishes them).":"Loading…"}
      rows=${(t?t.schedules:[]).map(s=>c`<tr data-schedule=${s.name}>
        <td>${s.name}</td><td>${s.workflow}</td><td class="mono">${s.cron}</td><td>${s.timezone}</td>
        <td>${s.paused?c`<span class="status status-paused" data-testid="schedule-state">paused</span>`:c`<span class="status status-completed" data-testid="schedule-state">active</span>`}</td>
        <td class="mono" data-testid="next-tick">${s.next_ticks[0]??(s.error?`error: ${s.error}`:"—")}</td>
        <td class="mono">${s.last_tick??"—"}</td>
        <td class="mono">${s.last_run?c`<a href=${`#/runs/${s.last_run}`} data-testid="last-run">${s.last_run}</a>`:"—"}</td>
        <td>${s.runs_started}</td>
        <td>${a&&c`
          <${N} key=${`${s.name}-${s.paused}`} label=${s.paused?"Resume":"Pause"}
            testid=${s.paused?"resume":"pause"} run=${o(s,s.paused?"resume":"pause")} />
          <${N} label="Run now" testid="trigger" run=${o(s,"trigger")} />`}</td>
      </tr>`)} />`}function De(){let{data:e,error:t}=C(()=>v("/v1/workers"),[],{ms:3e3});return c`
    <${b} error=${t} />
    <${S} testid="workers-table" head=${["Worker","Host","PID","Queues","Busy","Started","Last beat","Version"]}
      empty=${e?"No workers registered.":"Loading…"}
      rows=${(e?e.workers:[]).map(r=>{let n=Date.now()-Date.parse(r.beat_at)>15e3;return c`<tr class=${n?"stale":""}>
          <td class="mono">${r.id}</td><td>${r.host}</td><td>${r.pid}</td><td>${(r.queues||[]).join(", ")}</td>
          <td>${r.in_flight} / ${r.concurrency}</td><td>${R(r.started_at)}</td>
          <td>${R(r.beat_at)}${n?" (gone?)":""}</td><td>${r.version}</td>
        </tr>`})} />`}function Xe(e){let t=[];return e.requests_per_minute&&t.push(`${e.requests_per_minute} req/min`),e.tokens_per_minute&&t.push(`${e.tokens_per_minute} tokens/min`),e.concurrency&&t.push(`${e.concurrency} at once`),t.join(", ")||"—"}function Pe(){let{data:e,error:t}=C(()=>v("/v1/limiters"),[],{ms:3e3});return c`
    <${b} error=${t} />
    <${S} testid="limiters-table" head=${["Limiter","Bounds","Tokens left","Holders","Admitted","Waits","This minute","Paused until"]}
      empty=${e?"No limiters configured.":"Loading…"}
      rows=${(e?e.limiters:[]).map(r=>c`<tr>
        <td>${r.name}</td><td>${Xe(r.bounds||{})}</td><td>${r.tokens??"—"}</td><td>${r.holders}</td>
        <td>${r.admitted}</td><td>${r.waits}</td>
        <td>${r.recent?`${r.recent.admitted_this_minute} in, ${r.recent.waits_this_minute} waited`:"—"}</td>
        <td>${r.paused_until?P(r.paused_until):"—"}</td>
      </tr>`)} />`}function Re(){let[e,t]=g(""),{data:r,error:n}=C(()=>v(`/v1/audit${ct({limit:100,before:e})}`),[e],{ms:5e3,live:!e}),a=r?r.entries:[];return c`
    <${b} error=${n} />
    <${S} testid="audit-table" head=${["When","Who","Action","Target","Detail"]}
      empty=${r?"Nothing audited yet.":"Loading…"}
      rows=${a.map(o=>c`<tr>
        <td>${P(o.at)}</td><td>${o.who}</td><td>${o.action}</td><td class="mono">${o.target}</td>
        <td class="clip mono">${o.detail&&Object.keys(o.detail).length?JSON.stringify(o.detail):""}</td>
      </tr>`)} />
    <nav class="pager">
      <button class="button plain" disabled=${!e} onClick=${()=>t("")}>← Newest</button>
      <button class="button plain" disabled=${a.length<100}
        onClick=${()=>t(a[a.length-1].id)}>Older →</button>
    </nav>`}var Le=[{path:"",title:"Overview"},{path:"runs",title:"Runs"},{path:"dlq",title:"Dead letters"},{path:"queues",title:"Queues"},{path:"schedules",title:"Schedules"},{path:"workers",title:"Workers"},{path:"limiters",title:"Limiters"},{path:"audit",title:"Audit",admin:!0}];function Ze({error:e,onToken:t}){return c`
    <form class="login" onSubmit=${n=>{n.preventDefault(),t(new FormData(n.currentTarget).get("token").trim())}} data-testid="login">
      <h1>steadfast</h1>
      <p>This server wants a bearer token (<code>serve --tokens</code>). It is kept in this tab only.</p>
      <label>Token <input name="token" type="password" autocomplete="current-password" required autofocus /></label>
      <button class="button" type="submit">Sign in</button>
      <${b} error=${e} />
    </form>`}function tr({route:e,me:t}){let[r,n]=e.parts;if(r==="runs"&&n)return c`<${Te} id=${n} me=${t} />`;switch(r||""){case"":return c`<${ke} />`;case"runs":return c`<${Se} params=${e.params} />`;case"dlq":return c`<${Ce} me=${t} />`;case"queues":return c`<${Ne} me=${t} />`;case"schedules":return c`<${Ee} me=${t} />`;case"workers":return c`<${De} />`;case"limiters":return c`<${Pe} />`;case"audit":return t.role==="admin"?c`<${Re} />`:c`<p class="error">The audit log needs an admin token.</p>`;default:return c`<p class="error">No such page: ${e.parts.join("/")}</p>`}}function er(){let e=ge(),[t,r]=g(null),[n,a]=g(null),[o,s]=g(!1),u=lt(async()=>{try{let f=await v("/v1/me");f.role?(r(f),s(!1),a(null)):(r(null),s(!0),a(Dt()?"The server does not know this token.":null))}catch(f){r(null),a(f.message)}},[]);if(E(()=>(u(),_e(()=>{r(null),s(!0)})),[]),o)return c`<${Ze} error=${n} onToken=${f=>{Pt(f),u()}} />`;if(!t)return c`<${b} error=${n} />${!n&&c`<p class="loading">Loading…</p>`}`;let _=e.parts[0]||"",l=_==="runs"&&e.parts.length>1,p=Le.find(f=>f.path===_)?.title||"Not found";return c`
    <header class="top">
      <a class="brand" href="#/">steadfast</a>
      <nav class="tabs">
        ${Le.filter(f=>!f.admin||t.role==="admin").map(f=>c`
          <a href=${`#/${f.path}`} class=${f.path===_?"active":""}>${f.title}</a>`)}
      </nav>
      <span class="who" data-testid="who" data-role=${t.role}>
        ${t.tokens?`${t.name||"token"} (${t.role})`:"no tokens: everyone is admin"}
        ${t.tokens&&c` <button class="button plain" onClick=${()=>{Pt(""),r(null),s(!0)}}>Sign out</button>`}
      </span>
    </header>
    <main>
      ${!l&&c`<h1 class="page-title">${p}</h1>`}
      <${tr} route=${e} me=${t} />
    </main>`}Zt(c`<${er} />`,document.getElementById("app"));})();
